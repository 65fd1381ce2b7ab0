"""Shared fixtures. The trained model is built once per session (reused when
data and config are unchanged), exactly as `make chat` builds it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI

from ldn_bot.guard.detector import GuardDetector, default_detector
from ldn_bot.knowledge.base import KnowledgeBase, knowledge_base
from ldn_bot.settings import Settings, settings


@pytest.fixture(scope="session")
def cfg() -> Settings:
    return settings()


@pytest.fixture(scope="session")
def kb(cfg: Settings) -> KnowledgeBase:
    return knowledge_base(cfg.article_path)


@pytest.fixture(scope="session")
def detector() -> GuardDetector:
    return default_detector()


@pytest.fixture(scope="session")
def trained_model(cfg: Settings) -> Path:
    from ldn_bot.runtime import ensure_model

    return ensure_model(cfg)


@pytest.fixture(scope="session")
def slack_api() -> Iterator[FakeSlackAPI]:
    """The fake Slack Web API the `server` fixture's Slack channel posts to."""
    fake = FakeSlackAPI().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def server(
    cfg: Settings,
    trained_model: Path,
    slack_api: FakeSlackAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """`ldn-bot serve` as a user runs it, with Slack switched on against the fake API."""
    from ldn_bot.runtime import free_port

    port, action_port = free_port(), free_port()
    var = tmp_path_factory.mktemp("serve-var")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ldn_bot.cli",
            "serve",
            "--port",
            str(port),
            "--action-port",
            str(action_port),
        ],
        cwd=cfg.root,
        env={
            **os.environ,
            "LDN_BOT_VAR": str(var),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "LDN_BOT_SLACK_API_URL": slack_api.url,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/webhooks/rest/", timeout=1):
                break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stdout.read() if process.stdout else "serve exited")
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)
