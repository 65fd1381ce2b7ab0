"""Understanding article questions end to end, through the trained model: invitations are
answered from their topic, dose invitations get the referral, gibberish the fallback, small
talk its reply, and named side effects their answer (issue 13, item 5).

The phrasings are new: none is taken from the blind sets (tests/data/article_questions.yml,
conversations.yml), which stay held out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ask_json import ask_json
from understanding_inputs import INVITATIONS, TYPO_INVITATIONS

from ldn_bot.evaluation.run import topic_of
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings

# Invitations to a dose or splitting answer: the referral, whatever the frame.
DOSE_INVITATIONS = [
    "tell me about the dose",
    "what does the article say about splitting the tablets",
    "info on how much ldn to take",
    "anything on the right dosage?",
    "dosage?",
    "tell me about cutting the 50 mg pills",
]
GIBBERISH = ["blah blah", "asdf jkl", "hmm hmm hmm", "lorem ipsum dolor", "qwerty uiop", "la la la"]
SMALL_TALK = [
    "hi there",
    "thanks a lot",
    "bye for now",
    "are you a bot",
    "help",
    "thx!",
    "cya",
    "ttyl",
]
# A side effect named by the user was "not covered"; bruising and bleeding went to the
# general risks: the article's side-effects and thrombocytopenia sentences answer them.
NAMED_SIDE_EFFECTS = [
    "do people get headaches on low dose naltrexone",
    "is nausea a side effect of ldn",
    "ldn messing with my sleep, is that a known side effect",
    "can naltrexone cause odd dreams",
]
BLEEDING_AND_BRUISING = [
    "is easy bruising linked to naltrexone",
    "can ldn affect platelets",
    "bleeding gums from naltrexone, is that in the article",
]
TOPIC_QUESTIONS_NOT_SMALL_TALK = {
    "does it help fatigue": "effectiveness",
    "could ldn ease ms tiredness": "effectiveness",
    "does naltrexone give you bad dreams": "side_effects",
}


def _ask(cfg: Settings, lines: list[str], tmp: Path) -> dict[str, dict[str, Any]]:
    objects, _ = ask_json(cfg, lines, tmp=tmp)
    assert len(objects) == len(lines)
    return dict(zip(lines, objects, strict=True))


@pytest.fixture(scope="module")
def replies(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    lines = [
        *(text for texts in INVITATIONS.values() for text in texts),
        *TYPO_INVITATIONS.values(),
        *DOSE_INVITATIONS,
        *GIBBERISH,
        *SMALL_TALK,
        *TOPIC_QUESTIONS_NOT_SMALL_TALK,
        *NAMED_SIDE_EFFECTS,
        *BLEEDING_AND_BRUISING,
    ]
    return _ask(cfg, list(dict.fromkeys(lines)), tmp_path_factory.mktemp("var"))


@pytest.mark.model
@pytest.mark.parametrize("topic", sorted(INVITATIONS))
def test_the_article_invitation_routes_to_its_topic(
    replies: dict[str, dict[str, Any]], kb: KnowledgeBase, topic: str
) -> None:
    for text in [
        *INVITATIONS[topic],
        *([TYPO_INVITATIONS[topic]] if topic in TYPO_INVITATIONS else []),
    ]:
        reply = replies[text]
        assert reply["route"] == "article_answer", (text, reply["route"], reply["intent"])
        assert topic_of(reply["citations"], kb.topics) == topic, (text, reply["citations"])


@pytest.mark.model
def test_an_invitation_to_a_dose_answer_gets_the_referral(
    replies: dict[str, dict[str, Any]],
) -> None:
    wrong = {
        t: replies[t]["route"] for t in DOSE_INVITATIONS if replies[t]["route"] != "doctor_referral"
    }
    assert not wrong


@pytest.mark.model
def test_gibberish_gets_the_fallback_not_small_talk(replies: dict[str, dict[str, Any]]) -> None:
    # The fallback lists topics; a gibberish line with one real word ("dolor") may get the
    # out-of-scope reply, which lists them too. Never a greeting, "Goodbye" or the menu.
    wrong = {
        t: (replies[t]["route"], replies[t]["intent"])
        for t in GIBBERISH
        if replies[t]["route"] not in {"fallback", "out_of_scope"}
    }
    assert not wrong
    assert sum(replies[t]["route"] == "fallback" for t in GIBBERISH) >= len(GIBBERISH) - 1


@pytest.mark.model
def test_clear_small_talk_still_gets_its_reply(replies: dict[str, dict[str, Any]]) -> None:
    wrong = {t: replies[t]["route"] for t in SMALL_TALK if replies[t]["route"] != "smalltalk"}
    assert not wrong


@pytest.mark.model
def test_a_topic_question_is_not_answered_with_small_talk(
    replies: dict[str, dict[str, Any]], kb: KnowledgeBase
) -> None:
    for text, topic in TOPIC_QUESTIONS_NOT_SMALL_TALK.items():
        reply = replies[text]
        assert reply["route"] == "article_answer", (text, reply["route"], reply["intent"])
        assert topic_of(reply["citations"], kb.topics) == topic, (text, reply["citations"])


@pytest.mark.model
def test_a_named_side_effect_gets_the_side_effects_answer_not_not_covered(
    replies: dict[str, dict[str, Any]], kb: KnowledgeBase
) -> None:
    for text in NAMED_SIDE_EFFECTS:
        reply = replies[text]
        assert reply["route"] == "article_answer", (text, reply["route"], reply["intent"])
        assert topic_of(reply["citations"], kb.topics) == "side_effects", text


@pytest.mark.model
def test_a_bruising_or_bleeding_question_gets_the_thrombocytopenia_answer(
    replies: dict[str, dict[str, Any]], kb: KnowledgeBase
) -> None:
    for text in BLEEDING_AND_BRUISING:
        reply = replies[text]
        assert reply["route"] == "article_answer", (text, reply["route"], reply["intent"])
        assert topic_of(reply["citations"], kb.topics) == "thrombocytopenia", text
