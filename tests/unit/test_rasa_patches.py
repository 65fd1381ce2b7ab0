"""The Rasa fixes in `rasa_project/patches.py` and `action_endpoint.py` keep Rasa's behaviour."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from action_replies import every_real_reply
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from ldn_bot.guard.output import find_leak
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings
from rasa_project import patches
from rasa_project.action_endpoint import PooledEndpointConfig

VALID = {"events": [{"event": "slot", "name": "last_topic", "value": "ms"}], "responses": []}


@pytest.fixture(scope="module")
def domain(cfg: Settings) -> Domain:
    return Domain.load(str(cfg.domain_path))


INVALID = {"events": [{"event": "slot", "name": 3}], "responses": "not a list"}


def test_the_cached_validator_accepts_what_rasa_accepts(domain: Domain) -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    token = patches._contract.set(patches.reply_contract(domain))
    try:
        assert action._validate_action_result(VALID) is True
    finally:
        patches._contract.reset(token)


def test_a_reply_checked_outside_the_guarded_run_is_refused() -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    with pytest.raises(patches.RefusedReply, match="no reply contract"):
        action._validate_action_result(VALID)


def test_the_cached_validator_rejects_like_rasa_with_rasas_message() -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(INVALID)


def test_pooled_endpoint_reuses_one_session_per_event_loop() -> None:
    endpoint = PooledEndpointConfig(url="http://127.0.0.1:1/webhook")

    async def sessions() -> tuple[object, object]:
        async with endpoint.session() as first, endpoint.session() as second:
            return first, second

    first, second = asyncio.run(sessions())
    assert first is second
    assert isinstance(endpoint.copy(), PooledEndpointConfig)


DOSE = "take 4.5 mg at bedtime; cut a 50 mg tablet in half"
LEAKING = {
    "text": {"text": DOSE},
    "button_title": {"text": "Hi", "buttons": [{"title": DOSE, "payload": "/greet"}]},
    "button_payload": {"text": "Hi", "buttons": [{"title": "More", "payload": DOSE}]},
    "quick_replies": {"text": "Hi", "quick_replies": [{"title": DOSE, "payload": "/a"}]},
    "custom": {"custom": {"blocks": [{"type": "section", "text": {"text": DOSE}}]}},
    "attachment": {"attachment": {"type": "file", "payload": {"title": DOSE}}},
    "image": {"image": "https://127.0.0.1/take-4.5mg-at-bedtime.png"},
    "elements": {"elements": [{"title": "Dose", "subtitle": DOSE}]},
    "metadata": {"text": "Hi", "answer": DOSE},
}


class _FakeSio:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def emit(self, event: str, data: Any, **kwargs: Any) -> None:
        self.sent.append(data)


def _channels() -> dict[str, tuple[Any, Callable[[], Any]]]:
    """Each output channel the assistant serves, with what it handed on."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.channels.socketio import SocketIOOutput

    from rasa_project.assistant import RecordingOutputChannel
    from rasa_project.channels.slack import SlackOutput

    rest = CollectingOutputChannel()
    sio = _FakeSio()
    socketio = SocketIOOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    slack = SlackOutput("xoxb-test", "C1", None, api_url="http://127.0.0.1:1/")
    posted: list[Any] = []

    async def post(message: dict[str, Any]) -> None:
        posted.append(message)

    slack._post = post  # type: ignore[method-assign]
    ask = RecordingOutputChannel()
    return {
        "rest": (rest, lambda: rest.messages),
        "socketio": (socketio, lambda: sio.sent),
        "slack": (slack, lambda: posted),
        "ask": (ask, lambda: ask.sent),
    }


@pytest.mark.parametrize("channel_name", ["rest", "socketio", "slack", "ask"])
def test_a_dose_anywhere_in_a_message_never_reaches_a_channel(
    domain: Domain, channel_name: str
) -> None:
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.trackers import DialogueStateTracker

    channel, sent = _channels()[channel_name]
    processor = SimpleNamespace(domain=domain)
    tracker = DialogueStateTracker("someone", slots=[])
    for message in LEAKING.values():  # each as one action's reply
        events = [create_bot_utterance({"text": "Hello"}), create_bot_utterance(dict(message))]
        asyncio.run(patches._send_guarded(processor, events, tracker, channel))  # type: ignore[arg-type]
        assert len(events) == 1 and events[0].metadata["output_guard"]

    out = json.dumps(sent(), ensure_ascii=False)
    assert find_leak(out) is None and not re.search(r"\d\s*mg", out, re.IGNORECASE)
    referral = domain.responses[patches.REFERRAL][0]["text"]
    assert len(sent()) == len(LEAKING)
    assert all(referral in json.dumps(one, ensure_ascii=False) for one in sent())


def test_a_clean_message_reaches_the_channel_unchanged(domain: Domain) -> None:
    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.trackers import DialogueStateTracker

    greet = domain.responses["utter_greet"][0]
    events = [create_bot_utterance({**greet, "utter_action": "utter_greet"})]
    channel = CollectingOutputChannel()
    processor = SimpleNamespace(domain=domain)
    tracker = DialogueStateTracker("someone", slots=[])
    asyncio.run(patches._send_guarded(processor, events, tracker, channel))  # type: ignore[arg-type]
    assert channel.messages[0]["text"] == greet["text"]
    assert channel.messages[0]["buttons"] == greet["buttons"]


def test_a_malformed_reply_is_logged_without_its_text() -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    with pytest.raises(ValidationError) as error:
        action._validate_action_result({"events": DOSE, "responses": []})
    assert DOSE in str(error.value)  # Rasa's own message quotes the reply
    described = patches._described(error.value)
    assert DOSE not in described and "schema" in described


def test_a_dose_split_across_two_messages_never_reaches_a_channel(domain: Domain) -> None:
    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [
        create_bot_utterance({"text": "Take 4.5"}),
        create_bot_utterance({"text": "mg at bedtime."}),
    ]
    channel = CollectingOutputChannel()
    processor = SimpleNamespace(domain=domain)
    tracker = DialogueStateTracker("someone", slots=[])
    asyncio.run(patches._send_guarded(processor, events, tracker, channel))  # type: ignore[arg-type]
    referral = domain.responses[patches.REFERRAL][0]["text"]
    assert [m["text"] for m in channel.messages] == [referral]
    assert len(events) == 1


def test_no_real_turn_is_stopped_when_its_messages_are_read_together(
    domain: Domain, kb: KnowledgeBase
) -> None:
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_project.nlg import GuardedNLG

    nlg = GuardedNLG(domain=domain)
    tracker = DialogueStateTracker("someone", slots=[])

    async def turn(items: list[dict[str, Any]]) -> list[Any]:
        return await RemoteAction._utter_responses(items, CollectingOutputChannel(), nlg, tracker)

    turns = [asyncio.run(turn(reply["responses"])) for _, reply in every_real_reply(kb)]
    assert sum(len(events) > 1 for events in turns) >= 2  # answers with a note
    for events in turns:
        said = list(events)
        patches.guard_outgoing(domain, events, "someone")
        assert events == said
        assert not any(event.metadata.get("output_guard") for event in events)
