"""The output guard: no reply the bot can produce carries a dose, and the detector
catches any dose written into a reply."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import fuzz

from ldn_bot.guard.outgoing import MAX_CHARS, MAX_STRINGS, UNWALKABLE, check_outgoing
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


# The output guard on whole outgoing messages (`ldn_bot.guard.outgoing`): whatever
# produced a message, a dose in any of its strings is caught.

DOSE = "take 4.5 mg at bedtime; cut a 50 mg tablet in half"
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
benign = st.one_of(st.none(), st.booleans(), st.sampled_from(["ok", "/ask_safety", ""]), keys)
FIELDS = ["text", "buttons", "quick_replies", "custom", "attachment", "image", "elements", "x"]


def nested(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`leaf` somewhere inside lists and objects, among other values."""
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(st.lists(benign, max_size=2), inner, st.lists(benign, max_size=2)).map(
                lambda t: [*t[0], t[1], *t[2]]
            ),
            st.tuples(st.dictionaries(keys, benign, max_size=2), keys, inner).map(
                lambda t: {**t[0], t[1]: t[2]}
            ),
        ),
        max_leaves=10,
    )


# A dose as a client renders it: HTML entity, URL escape, full-width, zero-width, tags.
DISGUISED = [DOSE, "4.5&nbsp;mg", "4.5%20mg", "４.５ ｍｇ", "4.5\u200bmg", "4<b></b>.5 mg"]
leaking_text = st.one_of(
    st.tuples(filler, st.one_of(doses, schedules), filler).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.sampled_from(DISGUISED),
)


@given(field=st.sampled_from(FIELDS), value=nested(leaking_text), text=st.sampled_from(["", "ok"]))
@fuzz(300)
def test_a_dose_anywhere_in_an_outgoing_message_is_caught(
    field: str, value: Any, text: str
) -> None:
    message = {"text": text, field: value, "timestamp": 1.5, "utter_action": "utter_greet"}
    assert check_outgoing(message) is not None


@given(key=leaking_text)
@fuzz(100)
def test_a_dose_in_a_key_of_custom_json_is_caught(key: str) -> None:
    assert check_outgoing({"custom": {"blocks": [{key: True}]}}) is not None


@pytest.mark.parametrize(
    "message",
    [
        {"buttons": [{"title": "take 4.5", "payload": "/a"}, {"title": "mg at night"}]},
        {"text": "Take 4.5", "buttons": [{"title": "mg", "payload": "/a"}]},
        {"buttons": [{"title": "mg", "payload": "/a"}], "text": "Take 4.5"},  # Rasa's order
        {"messages": [{"text": "Hi"}, {"buttons": [{"title": "mg nightly"}], "text": "Take 4.5"}]},
        {"custom": {"dose": "4.5", "unit": "mg"}},
        {"custom": {"4.5": "mg"}},
    ],
)
def test_a_dose_split_across_fields_is_caught(message: dict[str, Any]) -> None:
    assert check_outgoing(message) is not None


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"text": "ok"}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "message",
    [
        {"custom": _deep(50)},
        {"custom": ["ok"] * (MAX_STRINGS + 1)},
        {"text": "x" * (MAX_CHARS + 1)},
        {"custom": {1: "ok"}},
        {"custom": object()},
        {"custom": b"4.5 mg"},
        "not a message",
    ],
)
def test_a_message_the_guard_cannot_walk_is_not_sent(message: Any) -> None:
    leak = check_outgoing(message)
    assert leak is not None and leak.rule == UNWALKABLE


def every_message(cfg: Settings, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every message the bot can send, whole, as Rasa builds it from the real actions'
    replies and the domain's templates (metadata, buttons and template values included)."""
    from rasa.core.actions.action import RemoteAction, create_bot_utterance
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.article import _dispatch
    from ldn_bot.answering import Reply, Turn
    from ldn_bot.guard.verdict import NO_CONCERN
    from rasa_project.nlg import GuardedNLG

    domain = Domain.load(str(cfg.domain_path))
    nlg = GuardedNLG(domain=domain)
    tracker = DialogueStateTracker("someone", slots=[])
    items: list[dict[str, Any]] = []
    answers = [kb.answer(t, more=m) for t in kb.topics for m in (False, True)]
    for answer in filter(None, answers):
        turn = Turn(
            (
                Reply("utter_article_answer", {"answer": answer.text, "source": answer.source}),
                *(Reply(note) for note in answer.notes),
            ),
            NO_CONCERN,
        )
        dispatcher = CollectingDispatcher()
        _dispatch(turn, dispatcher)
        items += dispatcher.messages

    async def generate() -> list[dict[str, Any]]:
        events = await RemoteAction._utter_responses(items, CollectingOutputChannel(), nlg, tracker)
        for name in domain.responses:
            draft = await nlg.generate(name, tracker, "rest")
            assert draft is not None
            events.append(create_bot_utterance({**draft, "utter_action": name}))
        return [event.message() for event in events]

    return asyncio.run(generate())


def test_no_message_the_bot_can_send_is_stopped_by_the_output_guard(
    cfg: Settings, kb: KnowledgeBase
) -> None:
    messages = every_message(cfg, kb)
    assert len(messages) > 50
    assert any(message.get("buttons") for message in messages)
    stopped = [(m.get("utter_action"), check_outgoing(m)) for m in messages if check_outgoing(m)]
    assert stopped == []
    assert not any("output_guard" in message for message in messages)


def test_guarded_nlg_checks_buttons_not_only_the_text() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_project.nlg import GuardedNLG

    domain = Domain.from_dict(
        {
            "responses": {
                "utter_bad": [{"text": "Hello", "buttons": [{"title": "4.5 mg", "payload": "/x"}]}],
                "utter_dosing_referral": [{"text": "Please ask your doctor."}],
            }
        }
    )
    tracker = DialogueStateTracker("someone", slots=[])
    bad = asyncio.run(GuardedNLG(domain=domain).generate("utter_bad", tracker, "rest"))
    assert bad is not None and bad["text"] == "Please ask your doctor."
    assert "buttons" not in bad or not bad["buttons"]


def test_markup_in_one_field_cannot_hide_a_dose_in_another() -> None:
    leak = check_outgoing({"text": "<", "answer": "4.5&nbsp;mg", "source": ">"})
    assert leak is not None and leak.where == "answer"
