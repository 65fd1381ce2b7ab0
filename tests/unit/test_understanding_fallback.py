"""Understanding article questions, the calibrated fallback alone: the confidence an intent
needs depends on its kind (small talk, a topic, safety), small talk must share a word with
its examples, and an unsure question still finds its topic's keywords (issue 13, item 5)."""

from __future__ import annotations

import pytest
from understanding_inputs import parsed_message

from ldn_bot.answering import answer_turn
from ldn_bot.confidence import Bars, falls_back, small_talk_vocabulary
from ldn_bot.knowledge.base import KnowledgeBase
from rasa_project.understanding import CalibratedFallbackClassifier

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
    unsure = parsed_message("blah blah", "goodbye", 0.5)
    sure = parsed_message("bye for now", "goodbye", 0.9)
    referral = parsed_message("how much do i take", "ask_dosing", 0.3, runner_up=0.28)
    component.process([unsure, sure, referral])
    assert unsure.get("intent")["name"] == "nlu_fallback"
    assert sure.get("intent")["name"] == "goodbye"
    assert referral.get("intent")["name"] == "ask_dosing"


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
