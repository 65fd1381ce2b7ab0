"""Understanding article questions: the assistant's own invitations ("what does the article
say about X", "tell me about X", "X?") and the calibrated fallback (issue 13, item 5).

The phrasings here are new: none is taken from the blind sets (tests/data/
article_questions.yml, conversations.yml), which stay held out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from ldn_bot.answering import answer_turn
from ldn_bot.confidence import Bars, falls_back, small_talk_vocabulary
from ldn_bot.evaluation.run import topic_of
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.knowledge.invitation import invited_topic
from ldn_bot.settings import Settings
from rasa_project.understanding import CalibratedFallbackClassifier, InvitationClassifier

# Three new phrasings per topic: a "what does the article say about" frame, a "tell me
# about" / "info on" / "anything on" frame, and a bare subject with question marks.
INVITATIONS = {
    "ms": [
        "what does the article say about multiple sclerosis itself?",
        "info on the disease pls",
        "multiple sclerosis??",
    ],
    "ms_prevalence": [
        "what does the text say regarding ms prevalence",
        "anything about the ms statistics",
        "ms stats?",
    ],
    "naltrexone": [
        "what's the article say about low-dose naltrexone",
        "tell me a bit about naltrexone please",
        "low-dose naltrexone ?",
    ],
    "fda_approval": [
        "what does it say on the fda approval",
        "info about the approved uses",
        "fda approval pls",
    ],
    "off_label": [
        "does the article mention off-label prescribing",
        "tell me about the off label status",
        "off-label prescribing?",
    ],
    "mechanism": [
        "what does the article say on the mechanism of action",
        "can you tell me how ldn works",
        "the mechanism?",
    ],
    "endorphins": [
        "does the article talk about endorphins",
        "any info on endorphins",
        "endorphins please",
    ],
    "effectiveness": [
        "what does the article say about the efficacy",
        "anything on the effectiveness of ldn",
        "efficacy?",
    ],
    "study_2017": [
        "what does the article say about the raknes study",
        "tell me about the 2017 paper",
        "the norwegian study?",
    ],
    "study_longterm": [
        "what did the article say about the ludwig study",
        "info on the long-term data",
        "the ten year study?",
    ],
    "research_needed": [
        "what does the article say about further research",
        "anything on future studies",
        "research gaps?",
    ],
    "safety": [
        "what does the article say regarding safety",
        "tell me about ldn's safety",
        "safety pls",
    ],
    "side_effects": [
        "what does the article mention about adverse effects",
        "any info on the adverse reactions",
        "adverse effects??",
    ],
    "risks": [
        "what does the article say about liver damage",
        "tell me about the dangers",
        "the liver risk?",
    ],
    "thrombocytopenia": [
        "what does the article say about low platelets",
        "info on thrombocytopenia pls",
        "platelets?",
    ],
    "warnings": [
        "what does the article say about naltrexone warnings",
        "anything on the warnings",
        "naltrexone warnings??",
    ],
    "contraindications": [
        "what does the article say about contraindications",
        "tell me about who should avoid it",
        "contraindications for ldn?",
    ],
    "doctor_advice": [
        "what does the article say in conclusion",
        "tell me the bottom line",
        "takeaway??",
    ],
    "sources": [
        "what does the article say about its references",
        "info on the citations",
        "citations?",
    ],
    "vivitrol": [
        "what does the article say about the injectable form",
        "tell me about the naltrexone jab",
        "injectable naltrexone?",
    ],
}
# Small typos in the subject still name it.
TYPO_INVITATIONS = {
    "side_effects": "tell me about the side efects",
    "thrombocytopenia": "thrombocytopeina?",
    "endorphins": "what does the article say about endorphines",
    "contraindications": "contraindicatons?",
}
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


# --- the invitation step alone ---------------------------------------------------------


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


def _message(text: str, intent: str, confidence: float, runner_up: float = 0.0) -> Message:
    msg = Message(data={"text": text})
    msg.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    msg.set(
        "intent_ranking",
        [{"name": intent, "confidence": confidence}, {"name": "other", "confidence": runner_up}],
        add_to_output=True,
    )
    return msg


def test_the_invitation_step_replaces_a_wrong_guess_but_never_a_safety_intent() -> None:
    wrong = _message("what does the article say about the risks", "ask_doctor_advice", 0.9)
    InvitationClassifier().process([wrong])
    assert wrong.get("intent")["name"] == "ask_risks"
    assert wrong.get("invitation") == {"topic": "risks", "nlu_intent": "ask_doctor_advice"}
    for intent in ("ask_dosing", "ask_pill_splitting", "personal_advice", "emergency"):
        safety = _message("what does the article say about the risks", intent, 0.3)
        InvitationClassifier().process([safety])
        assert safety.get("intent")["name"] == intent


# --- the calibrated fallback alone -----------------------------------------------------

BARS = Bars(threshold=0.4, small_talk=0.55, safety=0.25, ambiguity=0.05)


@pytest.mark.parametrize(
    ("intent", "confidence", "runner_up", "expected"),
    [
        ("goodbye", 0.5, 0.1, True),  # small talk below its own, higher bar
        ("goodbye", 0.6, 0.1, False),
        ("ask_risks", 0.35, 0.1, True),
        ("ask_risks", 0.45, 0.1, False),
        ("ask_risks", 0.45, 0.42, True),  # ambiguous
        ("ask_dosing", 0.3, 0.1, False),  # safety keeps the old bar
        ("personal_advice", 0.36, 0.33, False),  # and is never ambiguous: fail closed
        ("ask_dosing", 0.2, 0.1, True),
        (None, None, None, True),
    ],
)
def test_the_fallback_bar_depends_on_the_kind_of_intent(
    intent: str | None,
    confidence: float | None,
    runner_up: float | None,
    expected: bool,
) -> None:
    assert falls_back(intent, confidence, runner_up, BARS) is expected


def test_the_calibrated_fallback_component_reads_its_bars_from_the_config() -> None:
    component = CalibratedFallbackClassifier(
        {
            **CalibratedFallbackClassifier.get_default_config(),
            "threshold": 0.4,
            "small_talk_threshold": 0.55,
        }
    )
    unsure = _message("blah blah", "goodbye", 0.5)
    sure = _message("bye for now", "goodbye", 0.9)
    referral = _message("how much do i take", "ask_dosing", 0.3, runner_up=0.28)
    component.process([unsure, sure, referral])
    assert unsure.get("intent")["name"] == "nlu_fallback"
    assert sure.get("intent")["name"] == "goodbye"
    assert referral.get("intent")["name"] == "ask_dosing"


# --- end to end, through the trained model ---------------------------------------------


def _ask(cfg: Settings, lines: list[str], tmp: Path) -> dict[str, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "ask", "--json"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=cfg.root,
        timeout=600,
        env={**os.environ, "LDN_BOT_VAR": str(tmp)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    objects = [json.loads(line) for line in result.stdout.splitlines()]
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


def test_small_talk_must_share_a_word_with_the_small_talk_examples() -> None:
    vocabulary = small_talk_vocabulary(
        [("bye for now", "goodbye"), ("thx", "thank"), ("what is ldn", "ask_naltrexone")]
    )
    assert vocabulary == {"bye", "for", "now", "thx"}
    for text, expected in [("la la la", True), ("thx!!", False), ("ok bye", False)]:
        assert (
            falls_back("goodbye", 0.9, 0.0, BARS, text=text, small_talk_words=vocabulary)
            is expected
        )
    # topics are not held to it
    assert not falls_back(
        "ask_naltrexone", 0.9, 0.0, BARS, text="ldn?", small_talk_words=vocabulary
    )


@pytest.mark.parametrize(
    "text",
    ["could naltrexone leave you dizzy", "queasy after ldn?", "sleep problems and ldn"],
)
def test_an_unsure_question_naming_a_side_effect_gets_the_side_effects_answer(
    kb: KnowledgeBase, text: str
) -> None:
    # The NLU fell back: the topic keywords (topics.yml) still find the side effects.
    turn = answer_turn(kb, text=text, intent="nlu_fallback")
    assert turn.topic == "side_effects"
