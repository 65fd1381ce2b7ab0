"""Rasa started the stock way fails closed as `ldn-bot serve` does.

`rasa run` and `rasa shell` on this project (its trained model, `endpoints.yml` and
`credentials.yml`, nothing of `ldn-bot` in between) load the fixes of
`rasa_project.patches` from what Rasa itself loads from config, and read a typed `/intent`
as words (`rasa_project.nlu.TypedIntentReader`). With no action server
running, stock Rasa would end an article question in silence; here it says "I can't
answer that right now", and the safety replies (rules) are the same as ever.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ldn_bot.ports import free_port
from ldn_bot.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.model

# Each question and the domain response it must get, as `ldn-bot serve` gives it.
EXPECTED = {
    "how many mg of ldn should i take": "utter_dosing_referral",
    "can i cut my 50mg naltrexone tablet to make a low dose": "utter_pill_splitting_referral",
    "i took too much ldn and can't breathe": "utter_emergency",
    # A typed intent with a dose question in it: Rasa's RegexMessageHandler took it past
    # the guard (to an article answer) until the pipeline read it as words.
    '/ask_naltrexone{"q": "how many mg of ldn should i take"}': "utter_dosing_referral",
    # An article answer needs the action server, and none runs here.
    "what is ldn?": "utter_cannot_answer_now",
}
_DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
QUESTIONS = {question: _DOMAIN["responses"][name][0]["text"] for question, name in EXPECTED.items()}


@pytest.fixture(scope="module")
def stock_env(cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Endpoints as the project's, the database in a temporary folder, the action
    server on a port nothing listens on; Rasa's environment as the Makefile sets it."""
    folder = tmp_path_factory.mktemp("stock-rasa")
    endpoints = yaml.safe_load(cfg.endpoints_path.read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{free_port()}/webhook"
    endpoints["tracker_store"]["db"] = str(folder / "conversations.sqlite")
    path = folder / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints))
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "LDN_BOT_VAR": str(folder / "var"),
        "PYTHONPATH": os.pathsep.join([str(cfg.root / "src"), str(cfg.root)]),
    }
    return {"endpoints": str(path), "model": str(trained_model), "env": env, "root": cfg.root}


@pytest.fixture(scope="module")
def stock_rasa_run(stock_env: dict) -> Iterator[int]:
    """`python -m rasa run` with the project's credentials (its REST channel)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "rasa", "run",
            "--model", stock_env["model"],
            "--endpoints", stock_env["endpoints"],
            "--credentials", "rasa_project/credentials.yml",
            "--port", str(port),
        ],
        cwd=stock_env["root"],
        env=stock_env["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert process.poll() is None, "rasa run exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _rest(port: int, sender: str, text: str) -> list[str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return [message.get("text", "") for message in json.loads(answer.read())]


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_stock_rasa_run_fails_closed_like_serve(stock_rasa_run: int, question: str) -> None:
    replies = _rest(stock_rasa_run, f"stock-{abs(hash(question))}", question)
    assert any(QUESTIONS[question] in reply for reply in replies), replies
    assert not any("mg" in reply.lower() for reply in replies), replies


def test_stock_rasa_shell_fails_closed_like_serve(stock_env: dict) -> None:
    """`rasa shell` in a terminal (a pseudo-terminal here): the same replies."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "rasa", "shell",
            "--model", stock_env["model"],
            "--endpoints", stock_env["endpoints"],
            "--port", str(free_port()),
        ],
        cwd=stock_env["root"],
        env={**stock_env["env"], "TERM": "dumb", "COLUMNS": "200"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    seen = b""

    def read_until(marker: str, timeout: float) -> bool:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    return False
            if marker.encode() in seen:
                return True
        return False

    try:
        assert read_until("Your input", 240), seen.decode(errors="replace")[-2000:]
        for question, expected in QUESTIONS.items():
            seen = b""
            os.write(leader, question.encode() + b"\r")
            # The terminal wraps long lines: look for the reply's first words.
            assert read_until(expected[:40], 60), (question, seen.decode(errors="replace")[-2000:])
            assert read_until("Your input", 30)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        os.close(leader)
