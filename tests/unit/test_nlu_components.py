"""The custom NLU components on hand-made Rasa `Message`s (no trained model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from rasa_project import nlu
from rasa_project.nlu import ScopeClassifier, TypedIntentReader
from rasa_project.nlu_guard import GuardClassifier


def message(text: str, intent: str, confidence: float = 0.8) -> Message:
    msg = Message(data={"text": text})
    msg.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    msg.set("intent_ranking", [{"name": intent, "confidence": confidence}], add_to_output=True)
    return msg


def guard(msg: Message, tracker: DialogueStateTracker | None = None) -> dict[str, Any]:
    GuardClassifier().process([msg], tracker)
    return {"intent": msg.get("intent")["name"], "guard": msg.get("guard")}


@pytest.mark.parametrize(
    ("text", "nlu_intent", "final"),
    [
        ("what is ldn and how much should i take", "ask_naltrexone", "ask_dosing"),
        ("can i crush it", "nlu_fallback", "ask_pill_splitting"),
        ("what is naltrexone approved for", "ask_fda_approval", "ask_fda_approval"),
        ("tell me about endorphins", "ask_dosing", "ask_dosing"),  # key 1 alone refers
        ("i took 20 pills, what is ms", "ask_ms", "emergency"),
    ],
)
def test_guard_component_two_keys(text: str, nlu_intent: str, final: str) -> None:
    result = guard(message(text, nlu_intent))
    assert result["intent"] == final
    assert result["guard"]["nlu_intent"] == nlu_intent
    assert set(result["guard"]) >= {"category", "rule", "rules", "context"}


def test_guard_component_reads_the_conversation_context() -> None:
    tracker = DialogueStateTracker.from_events(
        "someone",
        [
            ActionExecuted("action_listen"),
            UserUttered("how much should i take", {"name": "ask_dosing"}),
            BotUttered("ask your doctor", metadata={"utter_action": "utter_dosing_referral"}),
            ActionExecuted("action_listen"),
        ],
    )
    result = guard(message("and for someone with kids?", "ask_more"), tracker)
    assert result["intent"] == "insist_dosing"  # still on the dose subject: referred again
    assert result["guard"]["context"] == "dosing"
    assert result["guard"]["source"] == "context"


def test_guard_component_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa_project.nlu_guard as nlu_guard

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("detector gone")

    monkeypatch.setattr(nlu_guard, "_conversation_guard", broken)
    assert guard(message("what is ms", "ask_ms"))["intent"] == "ask_dosing"


@pytest.mark.parametrize(
    ("text", "nlu_intent", "final"),
    [
        ("who won the football last night", "ask_contraindications", "out_of_scope"),
        ("does ldn help hashimoto's", "ask_effectiveness", "not_covered"),
        ("what is thrombocytopenia", "ask_thrombocytopenia", "ask_thrombocytopenia"),
        ("what's the bottom line", "ask_doctor_advice", "ask_doctor_advice"),
        ("tell me a joke", "greet", "greet"),  # only article intents are checked
    ],
)
def test_scope_component(text: str, nlu_intent: str, final: str) -> None:
    msg = message(text, nlu_intent)
    ScopeClassifier().process([msg])
    assert msg.get("intent")["name"] == final


def test_guard_component_fails_closed_when_the_context_cannot_be_read() -> None:
    class BrokenTracker:
        @property
        def events(self) -> list[Any]:
            raise RuntimeError("tracker store gone")

    result = guard(message("what is ms", "ask_ms"), BrokenTracker())  # type: ignore[arg-type]
    assert result["intent"] == "ask_dosing"


@pytest.mark.parametrize(
    ("text", "confidence", "final"),
    [
        ("wondering how many my wife is supposed to take a day", 0.8, "ask_dosing"),
        ("i'm nursing, is it alright for me", 0.59, "personal_advice"),
        ("i have ms and would like to read up on it", 0.75, "nlu_fallback"),
        ("i have ms and would like to read up on it", 0.97, "emergency"),
        ("my son ate some of my pills", 0.3, "emergency"),
    ],
)
def test_an_unsure_nlu_emergency_gives_way_to_the_detector(
    text: str, confidence: float, final: str
) -> None:
    assert guard(message(text, "emergency", confidence))["intent"] == final


def test_a_plea_right_after_the_emergency_message_gets_it_again() -> None:
    tracker = DialogueStateTracker.from_events(
        "someone",
        [
            ActionExecuted("action_listen"),
            UserUttered("my toddler swallowed two of my capsules", {"name": "emergency"}),
            BotUttered("call emergency services", metadata={"utter_action": "utter_emergency"}),
            ActionExecuted("action_listen"),
        ],
    )
    result = guard(message("what should we do now", "help", 0.9), tracker)
    assert result["intent"] == "emergency"
    assert result["guard"]["context"] == "emergency"


def test_an_unsure_dose_guess_on_a_question_about_the_product_is_the_fallback() -> None:
    assert guard(message("what shade are the 4.5 mg capsules", "ask_dosing", 0.5))["intent"] == (
        "nlu_fallback"
    )
    assert guard(message("what shade are the 4.5 mg capsules", "ask_dosing", 0.99))["intent"] == (
        "ask_dosing"
    )


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("/back", "back"),  # Rasa's action_back rewound the conversation the guard reads
        ("/restart", "restart"),
        (
            '/ask_naltrexone{"q": "how many mg should i take"}',
            'ask_naltrexone{"q": "how many mg should i take"}',
        ),
        ("//ask_dosing", "ask_dosing"),
        ("/", ""),
        ("/ask_naltrexone", "/ask_naltrexone"),  # a button of the domain: sent as it is
        ("/greet", "/greet"),  # the widget's opening payload
        ("how much is 4.5 mg / day", "how much is 4.5 mg / day"),
    ],
)
def test_typed_intent_reader_reads_a_typed_intent_as_words(typed: str, read: str) -> None:
    """Stock `rasa run` and `rasa shell` took `/intent` past the guard: Rasa's
    RegexMessageHandler, after the whole pipeline, set the typed intent."""
    msg = Message(data={"text": typed})
    TypedIntentReader().process([msg])
    assert msg.get("text") == read


def test_typed_intent_reader_without_the_domain_reads_every_button_as_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(nlu, "DOMAIN_PATH", tmp_path / "missing.yml")
    nlu._button_payloads.cache_clear()
    try:
        msg = Message(data={"text": "/ask_naltrexone"})
        TypedIntentReader().process([msg])
        assert msg.get("text") == "ask_naltrexone"
    finally:
        nlu._button_payloads.cache_clear()
