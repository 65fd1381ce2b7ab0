"""`ldn-bot serve` as a child process for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI

from ldn_bot.settings import Settings

SERVE = (sys.executable, "-m", "rasa_project", "serve")
EXPOSURE_VARIABLES = ("LDN_BOT_API", "LDN_BOT_REST", "LDN_BOT_CORS")


def without_exposure_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the variables that open the API, CORS or REST: a test's server
    has the defaults unless the test says otherwise."""
    return {k: v for k, v in environ.items() if not k.startswith(EXPOSURE_VARIABLES)}


@dataclass
class Serve:
    """A running `ldn-bot serve` child process and where it listens."""

    process: subprocess.Popen[bytes]
    port: int
    action_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def action_server_pid(self) -> int:
        """The pid of the action server this serve started (its only such child)."""
        children = [
            pid
            for pid, (ppid, cmdline) in processes().items()
            if ppid == self.process.pid and "rasa_project.action_server" in cmdline
        ]
        assert len(children) == 1, children
        return children[0]


def processes() -> dict[int, tuple[int, str]]:
    """Every process's parent pid and command line, from /proc."""
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found[int(proc.name)] = (ppid, cmdline)
    return found


def start_serve(
    cfg: Settings,
    var: Path,
    env: dict[str, str],
    *,
    args: Sequence[str] = (),
    port: int | None = None,
    action_port: int | None = None,
) -> Serve:
    """`ldn-bot serve [args]` started in a child process (free ports unless given); its
    output goes to `var/serve.log` (a pipe nobody reads could fill up and stall it)."""
    from ldn_bot.ports import free_port

    port, action_port = port or free_port(), action_port or free_port()
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
    return Serve(process, port, action_port, log_path)


def wait_until_up(serve: Serve, timeout: float = 180) -> None:
    """Until /health answers; fails the test when serve exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{serve.url}/health", timeout=1):
                return
        except OSError:
            if serve.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not start:\n{serve.log()[-3000:]}")
            time.sleep(0.5)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_serve(
    cfg: Settings,
    var: Path,
    env: dict[str, str],
    *,
    args: Sequence[str] = (),
    timeout: float = 180,
    port: int | None = None,
    action_port: int | None = None,
) -> Iterator[Serve]:
    """`ldn-bot serve [args]` in a child process; yields it once it answers, stops it after."""
    serve = start_serve(cfg, var, env, args=args, port=port, action_port=action_port)
    try:
        wait_until_up(serve, timeout)
        yield serve
    finally:
        stop(serve.process)


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
    once it answers."""
    with running_serve(cfg, var, env, args=args, timeout=timeout) as serve:
        yield serve.url


def slack_env(slack_api: FakeSlackAPI) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "LDN_BOT_SLACK_API_URL": slack_api.url,
    }
