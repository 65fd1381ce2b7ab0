"""Fuzzing the guard and the output guard: over 10,000 generated inputs per run.

Arbitrary Unicode, undecodable bytes, control characters and huge texts never raise and
never come back unsafe, and a dose or splitting question wrapped in noise is still
referred. `make soak` runs ten times as many (LDN_BOT_FUZZ_SCALE=10), `make test-fast` a
tenth (LDN_BOT_FUZZ_SCALE=0.1: about 70 s of parsing is the one thing that kept the unit
layer over a minute).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import REFERRED, anything, fuzz, huge, noise, undecodable

from ldn_bot.evaluation import Case
from ldn_bot.guard.detector import GuardDetector
from ldn_bot.guard.output import CHECK_FAILED, find_leak
from ldn_bot.guard.verdict import Category, Verdict
from ldn_bot.inputs import InputProblem, input_problem, printable


def _check(detector: GuardDetector, text: str) -> Verdict:
    verdict = detector.detect(text)
    assert isinstance(verdict, Verdict)
    assert verdict.rule != "error", f"the detector failed on {text!r}"
    return verdict


@fuzz(4000)
@given(text=st.one_of(anything, undecodable, huge))
def test_the_guard_never_fails_on_any_input(detector: GuardDetector, text: str) -> None:
    _check(detector, text)
    leak = find_leak(text)
    assert leak is None or leak.rule != CHECK_FAILED


@fuzz(3000)
@given(
    case=st.sampled_from(REFERRED),
    before=noise,
    after=noise,
    separator=st.tuples(noise, noise).map(lambda t: f"{t[0]} {t[1]}"),
)
def test_dose_and_splitting_questions_wrapped_in_noise_are_still_referred(
    detector: GuardDetector, case: Case, before: str, after: str, separator: str
) -> None:
    # Noise between the words too, except where the spaces are the trick ("h o w  m u c h").
    words = case.text if "spacing" in case.tags else separator.join(case.text.split())
    text = before + words + after
    verdict = _check(detector, text)
    assert verdict.category.refers_to_doctor or verdict.category is Category.EMERGENCY, (
        f"{text!r} got {verdict}"
    )


@fuzz(2000)
@given(text=st.one_of(anything, undecodable))
def test_the_output_guard_never_fails(text: str) -> None:
    leak = find_leak(text)
    assert leak is None or leak.rule != CHECK_FAILED


@fuzz(1000)
@given(text=st.one_of(anything, undecodable, huge))
def test_input_checks_and_log_escaping_never_fail(text: str) -> None:
    problem = input_problem(text)
    assert problem is None or isinstance(problem, InputProblem)
    shown = printable(text)
    assert "\n" not in shown and "\r" not in shown


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", InputProblem.NO_WORDS),
        ("   \n\t ", InputProblem.NO_WORDS),
        ("🙂🙂", InputProblem.NO_WORDS),
        ("???!!!", InputProblem.NO_WORDS),
        ("\x00\x01\x1b\x7f", InputProblem.NO_WORDS),
        ("\u200b\u202e", InputProblem.NO_WORDS),
        ("what is LDN?", None),
        ("что такое LDN", None),
        ("4.5", None),
        ("a" * 2000, None),
        ("a" * 2001, InputProblem.TOO_LONG),
        ("  " + "a" * 2000 + "  ", None),
    ],
)
def test_input_problems(text: str, problem: InputProblem | None) -> None:
    assert input_problem(text) is problem


def test_printable_escapes_what_could_start_a_line_or_hide_text() -> None:
    assert printable("ok\n2026-01-01 CRITICAL forged") == "ok\\n2026-01-01 CRITICAL forged"
    assert printable("a\rb\tc\x1b[2J\u202e\x00") == "a\\rb\\tc\\u001b[2J\\u202e\\u0000"
    assert printable("naïve café ✓ 🙂") == "naïve café ✓ 🙂"
