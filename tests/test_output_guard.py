"""The output guard: no reply the bot can produce carries a dose, and the detector
catches any dose written into a reply."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_bot.guard.output import CHECK_FAILED, find_leak
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings

UNITS = [
    "mg",
    "MG",
    "milligrams",
    "milligram",
    "mcg",
    "micrograms",
    "ml",
    "mL",
    "millilitres",
    "milliliters",
    "cc",
    "drops",
    "tablets",
    "pills",
    "capsules",
    "g",
    "units",
]
NUMBER_WORDS = ["one", "two", "three", "four", "five", "half", "quarter", "twelve"]

numbers = st.one_of(
    st.integers(min_value=0, max_value=500).map(str),
    st.decimals(min_value=0, max_value=100, places=2, allow_nan=False).map(str),
    st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.sampled_from(NUMBER_WORDS),
)
doses = st.tuples(numbers, st.sampled_from(["", " ", "  ", "-"]), st.sampled_from(UNITS)).map(
    lambda t: f"{t[0]}{t[1]}{t[2]}"
)
schedules = st.sampled_from(
    [
        "twice a day",
        "once daily",
        "three times a day",
        "every 12 hours",
        "at bedtime",
        "take it at night",
        "take it in the morning",
        "half a tablet",
        "a quarter of a pill",
        "increase by 1",
        "start at 1.5",
        "cut the pill into quarters",
        "once per day",
    ]
)
filler = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(before=filler, dose=doses, after=filler)
@settings(max_examples=400, deadline=None)
def test_any_amount_with_a_unit_is_caught(before: str, dose: str, after: str) -> None:
    assert find_leak(f"{before} {dose} {after}") is not None


@given(before=filler, schedule=schedules, after=filler)
@settings(max_examples=200, deadline=None)
def test_any_schedule_or_fraction_is_caught(before: str, schedule: str, after: str) -> None:
    assert find_leak(f"{before} {schedule} {after}") is not None


@given(text=st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_the_detector_never_raises(text: str) -> None:
    leak = find_leak(text)
    assert leak is None or leak.rule != CHECK_FAILED


def all_replies(cfg: Settings, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """Every text the bot can send: each response variant, with every article answer."""
    responses = yaml.safe_load(cfg.domain_path.read_text("utf-8"))["responses"]
    replies = []
    for name, variants in responses.items():
        for variant in variants:
            if "{answer}" not in variant["text"]:
                replies.append((name, variant["text"]))
                continue
            for topic in kb.topics:
                for more in (False, True):
                    answer = kb.answer(topic, more=more)
                    if answer is not None:
                        text = variant["text"].format(answer=answer.text, source=answer.source)
                        replies.append((f"{name}:{topic}:{more}", text))
    return replies


def test_no_reply_the_bot_can_produce_leaks_a_dose(cfg: Settings, kb: KnowledgeBase) -> None:
    replies = all_replies(cfg, kb)
    assert len(replies) > 50
    leaks = [(name, find_leak(text)) for name, text in replies if find_leak(text)]
    assert leaks == []


def test_guarded_nlg_replaces_a_leaking_reply_with_the_referral() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_project.nlg import GuardedNLG

    domain = Domain.from_dict(
        {
            "responses": {
                "utter_bad": [{"text": "Take 4.5 mg at bedtime."}],
                "utter_ok": [{"text": "Naltrexone is one emerging treatment option."}],
                "utter_dosing_referral": [{"text": "Please ask your doctor."}],
            }
        }
    )
    nlg = GuardedNLG(domain=domain)
    tracker = DialogueStateTracker("someone", slots=[])
    bad = asyncio.run(nlg.generate("utter_bad", tracker, "rest"))
    ok = asyncio.run(nlg.generate("utter_ok", tracker, "rest"))
    assert bad is not None and bad["text"] == "Please ask your doctor."
    assert bad["output_guard"] == "amount_with_unit"
    assert ok is not None and ok["text"] == "Naltrexone is one emerging treatment option."


@pytest.mark.parametrize(
    "text",
    [
        "They collected 10 years of clinical data and lab reports.",
        "Landmark study estimates nearly 1 million in the U.S. have multiple sclerosis.",
        "People should also avoid splitting higher dose pills on their own.",
    ],
)
def test_article_numbers_that_are_not_doses_pass(text: str) -> None:
    assert find_leak(text) is None
