"""`ldn-bot serve` as a child process for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI

from ldn_bot.settings import Settings

SERVE = (sys.executable, "-m", "ldn_bot.cli", "serve")
EXPOSURE_VARIABLES = ("LDN_BOT_API", "LDN_BOT_REST", "LDN_BOT_CORS")


def without_exposure_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the variables that open the API, CORS or REST: a test's server
    has the defaults unless the test says otherwise."""
    return {k: v for k, v in environ.items() if not k.startswith(EXPOSURE_VARIABLES)}


@contextlib.contextmanager
def serving(
    cfg: Settings,
    var: Path,
    env: dict[str, str],
    *,
    args: Sequence[str] = (),
    timeout: float = 180,
) -> Iterator[str]:
    """`ldn-bot serve [args]` in a child process on free ports; yields its loopback URL
    once it answers.

    Its output goes to `var/serve.log` (a pipe nobody reads could fill up and stall it).
    """
    from ldn_bot.runtime import free_port

    port, action_port = free_port(), free_port()
    var.mkdir(parents=True, exist_ok=True)
    log_path = var / "serve.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port), "--action-port", str(action_port), *args],
            cwd=cfg.root,
            env={**without_exposure_variables(os.environ), "LDN_BOT_VAR": str(var), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"serve did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def slack_env(slack_api: FakeSlackAPI) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "LDN_BOT_SLACK_API_URL": slack_api.url,
    }
