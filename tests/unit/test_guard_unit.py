"""The guard's parts: normalisation, the spaCy pipeline, fail-closed behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from ldn_bot.guard import detector as detector_module
from ldn_bot.guard.detector import GuardDetector, detect
from ldn_bot.guard.normalize import normalize
from ldn_bot.guard.verdict import Category, Verdict
from ldn_bot.nlp import TypoFixer, build_pipeline
from ldn_bot.routing import (
    NLU_EMERGENCY_THRESHOLD,
    NLU_SAFETY_THRESHOLD,
    UNCLEAR_INTENT,
    merge_intent,
)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("d o s e", "dose"),
        ("s-p-l-i-t", "split"),
        ("h_o_w m_u_c_h", "how much"),
        ("d0se", "dose"),
        ("spl1t", "split"),
        ("4.5mg", "4.5 mg"),
        ("ｄｏｓｅ", "dose"),  # full-width
        ("do\u200bse", "dose"),  # zero-width space
        ("dоsе", "dose"),  # Cyrillic о and е
        ("dooose", "doose"),
        ("¿Cuánto debo tomar?", "? how much should i take?"),
        ("wie viel soll ich nehmen", "how much should i take"),
        ("dos age", "dosage"),
    ],
)
def test_normalize_undoes_tricks(raw: str, folded: str) -> None:
    assert normalize(raw) == folded


def test_amounts_are_not_spelled_out_words() -> None:
    assert normalize("0.5 1.5 3 4.5") == "0.5 1.5 3 4.5"


def test_typo_fixer_maps_unknown_misspellings_to_trigger_lemmas() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    fixer = TypoFixer(nlp)
    doc = fixer(nlp("can i spliting the dosege"))
    assert [t.lemma_ for t in doc][2:] == ["split", "the", "dosage"]


@pytest.mark.parametrize(
    "text",
    [
        "whats the best tiem to take ldn",
        "best tme of day for my ldn",
        "when shoud i tkae it",
        "wat tim do i take low dose naltrexone",
        "is there a good tym to take it",
    ],
)
def test_a_timing_question_with_time_or_take_misspelled_is_dosing(text: str) -> None:
    assert detect(text).category is Category.DOSING


@pytest.mark.parametrize(
    "text", ["tim is my neurologist, he mentioned ldn", "what time is it", "i have no tme for this"]
)
def test_a_misspelled_time_without_a_dose_question_is_not_referred(text: str) -> None:
    assert not detect(text).blocked


def test_typo_fixer_leaves_real_words_alone() -> None:
    doc = build_pipeline()("how does it work , having done that")
    assert [t.lemma_ for t in doc] == ["how", "do", "it", "work", ",", "have", "do", "that"]


@pytest.mark.parametrize(
    ("text", "category", "rule"),
    [
        ("how much LDN should I take?", Category.DOSING, "dosing."),
        ("can I cut a 50 mg tablet?", Category.PILL_SPLITTING, "pill_splitting."),
        ("I took 20 pills", Category.EMERGENCY, "emergency.overdose"),
        ("should I stop my LDN?", Category.PERSONAL_ADVICE, "personal_advice."),
        ("what is naltrexone approved for?", Category.NONE, None),
    ],
)
def test_verdict_names_the_rule_that_fired(text: str, category: Category, rule: str | None) -> None:
    verdict = detect(text)
    assert verdict.category is category
    assert (verdict.rule or "").startswith(rule or "")


def test_follow_up_after_a_dosing_question_is_dosing() -> None:
    assert detect("and at night?", context=Category.DOSING).category is Category.DOSING
    assert detect("what about 3?", context=Category.DOSING).category is Category.DOSING
    assert not detect("what is thrombocytopenia?", context=Category.DOSING).blocked


def test_detector_fails_closed_when_matching_breaks(
    detector: GuardDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_doc: object) -> list[str]:
        raise RuntimeError("matcher broke")

    monkeypatch.setattr(detector, "_fired_rules", broken)
    verdict = detector.detect("what is MS?")
    assert verdict.category is Category.DOSING and verdict.rule == "error"


def test_detect_fails_closed_when_the_detector_cannot_be_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def build_without_rules() -> GuardDetector:
        return GuardDetector(build_pipeline(), tmp_path / "missing.yml")

    monkeypatch.setattr(detector_module, "default_detector", build_without_rules)
    verdict = detector_module.detect("what is MS?")
    assert verdict.blocked and verdict.rule == "detector_unavailable"


def test_huge_input_is_checked_in_windows(detector: GuardDetector) -> None:
    text = "tell me about ms. " * 3000 + "how much should i take?"
    assert detector.detect(text).category is Category.DOSING


@pytest.mark.parametrize(
    ("nlu_intent", "category", "final"),
    [
        ("ask_fda_approval", Category.DOSING, "ask_dosing"),
        ("ask_dosing", Category.NONE, "ask_dosing"),
        ("ask_dosing", Category.EMERGENCY, "emergency"),
        ("emergency", Category.DOSING, "emergency"),
        ("nlu_fallback", Category.PILL_SPLITTING, "ask_pill_splitting"),
        ("ask_pill_splitting", Category.DOSING, "ask_pill_splitting"),
        ("greet", Category.NONE, "greet"),
        (None, Category.PERSONAL_ADVICE, "personal_advice"),
    ],
)
def test_two_keys_the_stronger_safety_signal_wins(
    nlu_intent: str | None, category: Category, final: str
) -> None:
    verdict = Verdict(category, rule="test") if category is not Category.NONE else Verdict(category)
    assert merge_intent(nlu_intent, verdict) == final


@pytest.mark.parametrize(
    ("confidence", "category", "final"),
    [
        (0.46, Category.DOSING, "ask_dosing"),
        (0.59, Category.PERSONAL_ADVICE, "personal_advice"),
        (0.80, Category.PILL_SPLITTING, "ask_pill_splitting"),
        (0.75, Category.NONE, "nlu_fallback"),
        (0.909, Category.NONE, "nlu_fallback"),
        (0.28, Category.EMERGENCY, "emergency"),
        (0.97, Category.NONE, "emergency"),
        (0.97, Category.DOSING, "emergency"),
    ],
)
def test_an_unsure_nlu_emergency_never_sends_the_emergency_message_alone(
    confidence: float, category: Category, final: str
) -> None:
    verdict = Verdict(category, rule="test") if category is not Category.NONE else Verdict(category)
    assert merge_intent("emergency", verdict, confidence=confidence) == final


def test_the_emergency_threshold_lies_above_every_false_nlu_emergency_measured() -> None:
    assert 0.909 < NLU_EMERGENCY_THRESHOLD < 1.0


@pytest.mark.parametrize("confidence", [None, 0.4, 0.99])
def test_a_personal_decision_gets_the_personal_referral_not_the_dosing_one(
    confidence: float | None,
) -> None:
    verdict = Verdict(Category.PERSONAL_ADVICE, rule="personal_advice.should_i")
    assert merge_intent("ask_dosing", verdict, confidence=confidence) == "personal_advice"
    # where a dose IS asked (the detector says dosing), dosing stays
    dosing = Verdict(Category.DOSING, rule="dosing.how_much")
    assert merge_intent("personal_advice", dosing, confidence=confidence) == "ask_dosing"


@pytest.mark.parametrize(
    ("intent", "confidence", "final"),
    [
        ("ask_dosing", 0.82, "nlu_fallback"),
        ("ask_pill_splitting", 0.44, "nlu_fallback"),
        ("ask_dosing", 0.99, "ask_dosing"),
        ("ask_dosing", None, "ask_dosing"),
        ("ask_naltrexone", 0.5, "ask_naltrexone"),
    ],
)
def test_an_unsure_nlu_dose_guess_on_a_message_the_detector_cleared_is_not_a_referral(
    intent: str, confidence: float | None, final: str
) -> None:
    verdict = Verdict(Category.NONE, rules=(), cleared=("dosing.number",))
    assert merge_intent(intent, verdict, confidence=confidence) == final
    # not cleared: the NLU's dose guess still refers, when it is sure enough on its own
    unsure = intent.startswith("ask_") and intent != "ask_naltrexone"
    unsure = unsure and confidence is not None and confidence < NLU_SAFETY_THRESHOLD
    expected = UNCLEAR_INTENT if unsure else intent
    assert merge_intent(intent, Verdict(Category.NONE), confidence=confidence) == expected


@pytest.mark.parametrize(
    "text",
    [
        "what shade are the 4.5 mg capsules",
        "how long before ldn takes effect",
        "how much weight do people lose on naltrexone",
        "is it normal to have vivid dreams when taking naltrexone",
    ],
)
def test_the_detector_says_which_harmless_questions_it_cleared(
    detector: GuardDetector, text: str
) -> None:
    verdict = detector.detect(text)
    assert not verdict.blocked and verdict.cleared


@pytest.mark.parametrize(
    "text", ["how much ldn should i take", "what colour are the pills and how much should i take"]
)
def test_a_dose_question_is_never_cleared(detector: GuardDetector, text: str) -> None:
    verdict = detector.detect(text)
    assert verdict.blocked and verdict.category is Category.DOSING


@pytest.mark.parametrize(
    "text", ["how are ldn capsules supplied", "what are the inactive ingredients of naltrexone"]
)
def test_a_question_about_the_product_is_cleared_even_when_no_dose_rule_matched(
    detector: GuardDetector, text: str
) -> None:
    assert detector.detect(text).cleared == ("clearing_about",)


def test_a_dose_word_keeps_a_product_question_uncleared(detector: GuardDetector) -> None:
    assert not detector.detect("what colour is the pill i should take").cleared
