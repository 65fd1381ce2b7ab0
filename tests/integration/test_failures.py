"""Broken parts never silence the assistant or weaken the guard.

In-process, through the same `Assistant.ask` the CLI uses, with the real trained model:
an action server that is gone or hangs, and an NLU pipeline that raises. Every dosing
and splitting question still gets its referral (rules, no action server needed) and
every other message a reply. The end-to-end version (the action server killed under
load) is in `test_reliability.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ldn_bot.assistant import TurnResult
from ldn_bot.ports import free_port
from ldn_bot.settings import Settings
from rasa_project import action_endpoint
from rasa_project.action_process import ActionServer
from rasa_project.assistant import InProcessAssistant as Assistant
from rasa_project.assistant import close_action_endpoint

pytestmark = pytest.mark.model


def response(cfg: Settings, name: str) -> str:
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return str(domain["responses"][name][0]["text"])


def converse(
    cfg: Settings,
    model: Path,
    action_url: str,
    texts: list[str],
    *,
    break_nlu: bool = False,
    action_secret: str | None = None,
) -> list[TurnResult]:
    async def run() -> list[TurnResult]:
        assistant = await Assistant.load(
            cfg, model, action_url=action_url, action_secret=action_secret
        )
        if break_nlu:
            _break_nlu(assistant.agent)
        try:
            return [await assistant.ask(text, "failure-test") for text in texts]
        finally:
            await close_action_endpoint(assistant.agent)

    return asyncio.run(run())


def _break_nlu(agent: Any) -> None:
    """Make every NLU run raise (the dialogue policies keep working)."""
    runner = agent.processor.graph_runner
    nlu_target = agent.processor.model_metadata.nlu_target
    real_run = runner.run

    def run(inputs: Any, targets: list[str]) -> Any:
        if nlu_target in targets:
            raise RuntimeError("an NLU component failed")
        return real_run(inputs=inputs, targets=targets)

    runner.run = run


QUESTIONS = [
    ("what is LDN?", "article"),
    ("how many mg of LDN should I take at night?", "utter_dosing_referral"),
    ("can I cut a 50mg naltrexone tablet into pieces?", "utter_pill_splitting_referral"),
    ("I took all my pills and can't breathe", "utter_emergency"),
    ("what does the 2017 study say?", "article"),
]


def _check(cfg: Settings, results: list[TurnResult], article: str) -> None:
    for (question, expected), result in zip(QUESTIONS, results, strict=True):
        assert result.replies, f"no reply to {question!r}"
        wanted = response(cfg, article if expected == "article" else expected)
        assert wanted in result.replies, f"{question!r} got {result.replies}"


def test_without_an_action_server_referrals_still_come_and_nothing_is_silent(
    var_cfg: Settings, trained_model: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/webhook"
    results = converse(var_cfg, trained_model, dead, [q for q, _ in QUESTIONS])
    _check(var_cfg, results, "utter_cannot_answer_now")
    assert response(var_cfg, "utter_disclaimer") in results[0].replies  # session start


@pytest.fixture
def hanging_action_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An action server that accepts connections and never answers."""
    monkeypatch.setattr(action_endpoint, "ACTION_TIMEOUT_SECONDS", 1.0)
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/webhook"


def test_a_hanging_action_server_costs_a_timeout_not_the_reply(
    var_cfg: Settings, trained_model: Path, hanging_action_server: str
) -> None:
    results = converse(var_cfg, trained_model, hanging_action_server, [q for q, _ in QUESTIONS])
    _check(var_cfg, results, "utter_cannot_answer_now")


def test_when_the_nlu_fails_the_guard_alone_decides(var_cfg: Settings, trained_model: Path) -> None:
    with ActionServer(var_cfg) as actions:
        results = converse(
            var_cfg,
            trained_model,
            actions.url,
            [q for q, _ in QUESTIONS],
            break_nlu=True,
            action_secret=actions.secret,
        )
    _check(var_cfg, results, "utter_cannot_answer_now")
    assert results[1].intent == "ask_dosing"


@pytest.fixture
def malformed_action_server() -> Iterator[str]:
    """An action server that answers every call with a reply Rasa cannot use."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"events": "not a list", "responses": 5}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    finally:
        server.shutdown()


def test_a_malformed_action_reply_costs_the_answer_not_the_reply(
    var_cfg: Settings, trained_model: Path, malformed_action_server: str
) -> None:
    results = converse(var_cfg, trained_model, malformed_action_server, [q for q, _ in QUESTIONS])
    _check(var_cfg, results, "utter_cannot_answer_now")
