"""Understanding article questions, the invitation step alone: the assistant's own
invitations ("what does the article say about X", "tell me about X", "X?") name their topic,
and the step never overrules a safety intent (issue 13, item 5).

The phrasings are new (`understanding_inputs.py`): none is taken from the blind sets
(tests/data/article_questions.yml, conversations.yml), which stay held out.
"""

from __future__ import annotations

import pytest
from understanding_inputs import INVITATIONS, TYPO_INVITATIONS, parsed_message

from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.knowledge.invitation import invited_topic
from rasa_project.understanding import InvitationClassifier

# Invitations whose subject is not one topic: the NLU decides, as before.
NOT_ONE_TOPIC = [
    "tell me about the dose",
    "what does the article say about splitting the tablets",
    "tell me about the risks for children",
    "anything on fibromyalgia",
    "tell me about it",
    "tell me more",
    "info on side effects and the fda approval",
]


@pytest.mark.parametrize(
    ("topic", "text"),
    [(topic, text) for topic, texts in INVITATIONS.items() for text in texts],
)
def test_the_article_invitation_names_its_topic(kb: KnowledgeBase, topic: str, text: str) -> None:
    found = invited_topic(kb, text)
    assert found is not None and found.id == topic


def test_every_topic_has_invitations(kb: KnowledgeBase) -> None:
    assert set(INVITATIONS) == set(kb.topics)


@pytest.mark.parametrize(("topic", "text"), TYPO_INVITATIONS.items())
def test_an_invitation_with_a_typo_still_names_its_topic(
    kb: KnowledgeBase, topic: str, text: str
) -> None:
    found = invited_topic(kb, text)
    assert found is not None and found.id == topic


@pytest.mark.parametrize("text", NOT_ONE_TOPIC)
def test_an_invitation_that_does_not_name_one_topic_is_left_to_the_nlu(
    kb: KnowledgeBase, text: str
) -> None:
    assert invited_topic(kb, text) is None


def test_the_invitation_step_replaces_a_wrong_guess_but_never_a_safety_intent() -> None:
    wrong = parsed_message("what does the article say about the risks", "ask_doctor_advice", 0.9)
    InvitationClassifier().process([wrong])
    assert wrong.get("intent")["name"] == "ask_risks"
    assert wrong.get("invitation") == {"topic": "risks", "nlu_intent": "ask_doctor_advice"}
    for intent in ("ask_dosing", "ask_pill_splitting", "personal_advice", "emergency"):
        safety = parsed_message("what does the article say about the risks", intent, 0.3)
        InvitationClassifier().process([safety])
        assert safety.get("intent")["name"] == intent
