"""Another program on serve's ports (issues 12 and 14), and when serve says it is up.

What an attack pass found (issue 12, item 1b) and what now holds:
- a program that took the action port after a crash was believed (its "health" and its
  answers): now only answers signed with the secret are believed; a port taken at start
  stops serve with one clear line;
- serve printed "ldn-bot is up", then a traceback, and exited 0 when a port was taken,
  and said it was up seconds before it took connections (issue 14).

The figures go to reports/lifecycle.json.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import pytest
from lifecycle_probes import DOSE, FIGURES, impostor_on
from serving import start_serve, stop

from ldn_bot import action_auth
from ldn_bot.guard.output import find_leak
from ldn_bot.ports import PortInUse, free_port
from ldn_bot.settings import Settings
from rasa_project.action_process import ActionServer
from rasa_project.assistant import InProcessAssistant as Assistant
from rasa_project.assistant import close_action_endpoint

pytestmark = pytest.mark.usefixtures("lifecycle_figures")


def test_an_impostor_on_the_action_port_is_not_taken_for_the_action_server(
    var_cfg: Settings,
) -> None:
    port = free_port()
    with impostor_on(port):
        server = ActionServer(var_cfg, port=port)
        with pytest.raises(PortInUse, match=f"port {port} is in use by another program"):
            server.start(timeout=60)
        assert not server.answers_as_ours()


def test_an_impostors_answers_never_reach_the_user(var_cfg: Settings, trained_model: Path) -> None:
    port = free_port()
    questions = ["what is LDN?", "what does the 2017 study say?", "hello"]

    async def converse() -> list[list[str]]:
        assistant = await Assistant.load(
            var_cfg,
            trained_model,
            action_url=f"http://127.0.0.1:{port}/webhook",
            action_secret=action_auth.new_secret(),
        )
        try:
            return [(await assistant.ask(q, "impostor")).replies for q in questions]
        finally:
            await close_action_endpoint(assistant.agent)

    with impostor_on(port):
        replies = asyncio.run(converse())
    for question, answer in zip(questions, replies, strict=True):
        assert answer, f"no reply to {question!r}"
        assert all(DOSE not in r and find_leak(r) is None for r in answer), answer
    FIGURES["impostor_replies_leaked"] = 0


def test_a_foreign_process_on_the_action_port_stops_serve(cfg: Settings, tmp_path: Path) -> None:
    port = free_port()
    with impostor_on(port):
        serve = start_serve(cfg, tmp_path, {}, action_port=port)
        code = serve.process.wait(timeout=120)
    assert code != 0
    expected = f"port {port} is in use by another program: choose --action-port or stop it"
    assert expected in serve.log()
    assert "ldn-bot is up" not in serve.log()


def test_a_foreign_process_on_the_web_port_stops_serve(cfg: Settings, tmp_path: Path) -> None:
    port = free_port()
    with impostor_on(port):
        serve = start_serve(cfg, tmp_path, {}, port=port)
        code = serve.process.wait(timeout=120)
    assert code != 0
    assert f"port {port} is in use by another program: choose --port or stop it" in serve.log()


@pytest.mark.parametrize("taken", ["port", "action_port"])
def test_a_taken_port_is_one_clear_line_and_a_non_zero_exit(
    cfg: Settings, tmp_path: Path, taken: str
) -> None:
    """It printed "ldn-bot is up", then a traceback, and exited 0 (issue 14)."""
    port = free_port()
    with impostor_on(port):
        serve = start_serve(cfg, tmp_path, {}, **{taken: port})
        code = serve.process.wait(timeout=120)
    option = "--" + taken.replace("_", "-")
    assert code == 1
    assert serve.log().splitlines() == [
        f"ldn-bot: port {port} is in use by another program: choose {option} or stop it"
    ]


def test_serve_says_it_is_up_only_once_it_accepts_connections(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """It printed "ldn-bot is up" about 6 s before the server took connections."""
    serve = start_serve(cfg, tmp_path, {})
    try:
        deadline = time.monotonic() + 180
        while "ldn-bot is up" not in serve.log():
            assert serve.process.poll() is None, serve.log()[-3000:]
            assert time.monotonic() < deadline, serve.log()[-3000:]
            time.sleep(0.05)
        # At once: connections are accepted and the model is loaded (503 while loading).
        with urllib.request.urlopen(f"{serve.url}/health", timeout=5) as reply:
            assert reply.status == 200
            assert json.loads(reply.read())["status"] == "ok"
    finally:
        stop(serve.process)
