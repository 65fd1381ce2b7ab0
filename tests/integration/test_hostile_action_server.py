"""A hostile process on the action port cannot make the assistant say a dose.

Issue 12: a process that took the action port had "take 4.5 mg at bedtime; cut a 50 mg
tablet in half" delivered word for word, and the disclaimer vanished. Here the real
assistant (trained model, guarded Rasa, SQLite conversation store and ledger) runs
in-process against a fake action server that answers with a dose in every place Rasa
would take it from: free text, buttons, custom JSON, an attachment, an image, elements,
a `BotUttered` event, a template value, an unknown response, a session start without
the disclaimer. Nothing sent (any field, any message) carries a dose, the turn gets the
referral, the disclaimer opens every conversation, and neither the conversation store
nor the ledger keeps the text. With the reply check switched off, the output guard
alone still stops every variant (defence in depth).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from action_replies import DOSE, article_reply, hostile, reply_of

from actions.session import ActionSessionStart
from ldn_bot.guard.output import find_leak
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings

pytestmark = pytest.mark.model

# A dose in any form the variants use, in what was sent or what was stored. "mg" must end a
# word: the raw SQLite file also holds record headers, and the header bytes "9M" before the
# text "guard_context" read as "9Mg".
DOSE_PATTERN = re.compile(rb"\d+(?:[.,]\d+)?\s*-?\s*mg\b|tablet in half|at bedtime", re.IGNORECASE)

VARIANTS = [
    "free_text",
    "dose_split_across_messages",
    "text_beside_a_response",
    "button_title",
    "custom_payload",
    "attachment",
    "image",
    "elements",
    "quick_replies",
    "answer_param",
    "unknown_response",
    "bot_uttered_event",
    "user_uttered_event",
    "topic_is_text",
    "session_start_without_disclaimer",
    "session_start_with_free_text",
]
# What Rasa itself would pass on with the reply check off: these reach the output guard.
OUTPUT_GUARD_VARIANTS = [
    "free_text",
    "dose_split_across_messages",
    "dose_split_across_messages",
    "text_beside_a_response",
    "button_title",
    "custom_payload",
    "attachment",
    "image",
    "elements",
    "quick_replies",
    "answer_param",
    "bot_uttered_event",
    "session_start_with_free_text",
]
QUESTIONS = ["what is LDN?", "tell me more", "how many mg should I take?"]


class HostileActionServer:
    """Answers `/webhook` with the reply set for each action, on a free loopback port."""

    def __init__(self) -> None:
        self.replies: dict[str, Any] = {}
        self.calls = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.calls += 1
                reply = owner.replies.get(request.get("next_action"), owner.replies["*"])
                status, reply = reply if isinstance(reply, tuple) else (200, reply)
                body = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"

    def set_variant(self, kb: KnowledgeBase, variant: str) -> None:
        action, reply = hostile(kb, variant)
        self.replies = {
            "action_session_start": reply_of(ActionSessionStart(), "", None),
            "*": article_reply(kb),
            action if action == "action_session_start" else "*": reply,
        }


@pytest.fixture(scope="module")
def action_server() -> Iterator[HostileActionServer]:
    server = HostileActionServer()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def var_cfg(cfg: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return dataclasses.replace(cfg, var_dir=tmp_path_factory.mktemp("hostile-var"))


@pytest.fixture(scope="module")
def assistant(
    var_cfg: Settings, trained_model: Path, action_server: HostileActionServer
) -> Iterator[tuple[Any, asyncio.AbstractEventLoop]]:
    from rasa_project.assistant import InProcessAssistant as Assistant
    from rasa_project.assistant import close_action_endpoint, flush_ledger

    loop = asyncio.new_event_loop()
    loaded = loop.run_until_complete(
        Assistant.load(var_cfg, trained_model, action_url=action_server.url)
    )
    yield loaded, loop
    flush_ledger(loaded.agent)
    loop.run_until_complete(close_action_endpoint(loaded.agent))
    loop.close()


def response(cfg: Settings, name: str) -> str:
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return str(domain["responses"][name][0]["text"])


def converse(
    assistant: tuple[Any, asyncio.AbstractEventLoop], sender: str
) -> list[list[dict[str, Any]]]:
    """Each question's messages, whole, as the output channel received them."""
    from rasa.core.channels.channel import UserMessage

    from rasa_project.assistant import RecordingOutputChannel

    loaded, loop = assistant
    turns = []
    for text in QUESTIONS:
        channel = RecordingOutputChannel()
        message = UserMessage(text, channel, sender, input_channel="cli")
        loop.run_until_complete(loaded.agent.handle_message(message))
        turns.append(channel.sent)
    return turns


def stored(cfg: Settings, loaded: Any) -> bytes:
    """Everything on disk under `var/`: the conversation store and the ledger (and WAL)."""
    from rasa_project.assistant import flush_ledger

    flush_ledger(loaded.agent)
    return b"".join(path.read_bytes() for path in sorted(cfg.var_dir.rglob("*")) if path.is_file())


def check_conversation(
    cfg: Settings, turns: list[list[dict[str, Any]]], *, answered_by_action: bool
) -> None:
    sent = json.dumps(turns, ensure_ascii=False)
    assert find_leak(sent) is None, sent
    assert not DOSE_PATTERN.search(sent.encode()), sent
    texts = [[m.get("text") for m in turn] for turn in turns]
    assert texts[0][0] == response(cfg, "utter_disclaimer"), "the disclaimer vanished"
    referral = response(cfg, "utter_dosing_referral")
    assert referral in texts[2]  # the rule, no action server involved
    if answered_by_action:
        assert referral in texts[0] and referral in texts[1], texts


def test_a_sqlite_record_header_before_guard_context_is_not_a_dose() -> None:
    assert not DOSE_PATTERN.search(b"\x07\x00'\x82wdepth-button_title\x129Mguard_context{")
    assert DOSE_PATTERN.search(DOSE.encode()) and DOSE_PATTERN.search(b"Take 4.5\nmg every night.")


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_hostile_action_server_cannot_make_the_bot_say_a_dose(
    kb: KnowledgeBase,
    var_cfg: Settings,
    action_server: HostileActionServer,
    assistant: tuple[Any, asyncio.AbstractEventLoop],
    variant: str,
) -> None:
    action_server.set_variant(kb, variant)
    calls = action_server.calls
    turns = converse(assistant, f"hostile-{variant}")
    assert action_server.calls > calls  # the hostile server was asked
    check_conversation(var_cfg, turns, answered_by_action=not variant.startswith("session"))
    assert not DOSE_PATTERN.search(stored(var_cfg, assistant[0]))


@pytest.mark.parametrize("variant", OUTPUT_GUARD_VARIANTS)
def test_with_the_reply_check_off_the_output_guard_alone_stops_the_dose(
    kb: KnowledgeBase,
    var_cfg: Settings,
    action_server: HostileActionServer,
    assistant: tuple[Any, asyncio.AbstractEventLoop],
    monkeypatch: pytest.MonkeyPatch,
    variant: str,
) -> None:
    from rasa_project import patches

    monkeypatch.setattr(patches, "refusal", lambda *_args: None)
    action_server.set_variant(kb, variant)
    turns = converse(assistant, f"depth-{variant}")
    sent = json.dumps(turns, ensure_ascii=False)
    assert find_leak(sent) is None and not DOSE_PATTERN.search(sent.encode()), sent
    assert any(m.get("output_guard") for turn in turns for m in turn)
    assert not DOSE_PATTERN.search(stored(var_cfg, assistant[0]))


@pytest.mark.parametrize(
    ("status", "instead"), [(400, "utter_dosing_referral"), (500, "utter_cannot_answer_now")]
)
def test_an_error_or_rejection_from_the_action_server_says_nothing_of_its_own(
    kb: KnowledgeBase,
    var_cfg: Settings,
    action_server: HostileActionServer,
    assistant: tuple[Any, asyncio.AbstractEventLoop],
    caplog: pytest.LogCaptureFixture,
    status: int,
    instead: str,
) -> None:
    action_server.set_variant(kb, "free_text")
    action_server.replies["*"] = (status, {"action_name": "action_answer_article", "error": DOSE})
    with caplog.at_level("ERROR", logger="rasa_project.patches"):
        turns = converse(assistant, f"error-{status}")
    sent = json.dumps(turns, ensure_ascii=False)
    assert find_leak(sent) is None and not DOSE_PATTERN.search(sent.encode()), sent
    assert response(var_cfg, instead) in [m.get("text") for m in turns[0]]
    ours = [r.getMessage() for r in caplog.records if r.name == "rasa_project.patches"]
    assert ours and not any(DOSE_PATTERN.search(line.encode()) for line in ours), ours
    assert not DOSE_PATTERN.search(stored(var_cfg, assistant[0]))
