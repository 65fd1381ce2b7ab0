"""The two assistants under test, each started as a user runs it and stopped cleanly.

ldn-bot runs as `ldn-bot serve` (which starts its own action server as a child); the
stock assistant is what `rasa init --no-prompt` generates, run with `rasa run` and
`rasa run actions`, with the same SQLite tracker store. Both are spoken to over REST.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.environment import BIN, ENV, ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """The ids of the direct children of process `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


@dataclass
class Assistant:
    """One assistant under test: how to train it, start it and find its processes."""

    name: str
    folder: Path
    start: Callable[[Assistant, int, int], list[subprocess.Popen[bytes]]]
    train: Callable[[Assistant, Path], None]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        """The REST channel's webhook of the running assistant."""
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def launch(self) -> float:
        """Start it; seconds from process start to the first reply."""
        self.stop()
        self.port, action_port = free_port(), free_port()
        started = time.monotonic()
        self.processes = self.start(self, self.port, action_port)
        deadline = started + 600
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"{self.name} exited during start; see {self.folder}/*.log")
            with contextlib.suppress(OSError, ValueError):
                body = json.dumps({"sender": f"cold-{uuid.uuid4().hex}", "message": "hello"})
                request = urllib.request.Request(
                    self.url, body.encode(), {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as reply:
                    if json.loads(reply.read()):
                        return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within 600 s")

    def memory(self) -> dict[str, float]:
        """RSS of the Rasa server and of the action server, in MB."""
        server = self.processes[0].pid
        if self.name == "ldn-bot":  # serve starts the action server as its child
            actions = [p for p in children(server) if "action_server" in _cmdline(p)]
            action_pid = actions[0] if actions else None
        else:
            action_pid = self.processes[1].pid
        return {
            "server": rss_mb(server),
            "actions": rss_mb(action_pid) if action_pid else float("nan"),
        }

    def stop(self) -> None:
        """Terminate its processes (kill those still running after 30 s)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            if process.poll() is None:
                process.kill()
        self.processes = []


# --- ldn-bot -------------------------------------------------------------------------------------


def start_ours(assistant: Assistant, port: int, action_port: int) -> list[subprocess.Popen[bytes]]:
    """Start `ldn-bot serve` with a fresh var folder; it starts its own action server."""
    var = assistant.folder / "var"
    shutil.rmtree(var, ignore_errors=True)
    log_file = open(assistant.folder / "serve.log", "ab")  # noqa: SIM115 (lives with the process)
    return [
        subprocess.Popen(
            [str(BIN / "ldn-bot"), "serve", "--port", str(port), "--action-port", str(action_port)],
            cwd=ROOT,
            env={**ENV, "LDN_BOT_VAR": str(var)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    ]


def train_ours(assistant: Assistant, out: Path) -> None:
    """Train ldn-bot's model from scratch into `out` (its own cache, so nothing is reused)."""
    script = (
        "from ldn_bot.settings import settings; from rasa.api import train; c = settings(); "
        f"r = train(domain=str(c.domain_path), config=str(c.config_path), "
        f"training_files=[str(p) for p in c.training_files], output={str(out)!r}); "
        "raise SystemExit(r.code)"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")},
        check=True,
        capture_output=True,
    )


# --- the stock assistant -------------------------------------------------------------------------


def init_stock(folder: Path) -> Path:
    """`rasa init --no-prompt` in a temporary folder, with a SQLite tracker store."""
    project = folder / "stock"
    project.mkdir()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        cwd=folder,
        env={**ENV, "RASA_CACHE_DIRECTORY": str(folder / "stock-cache")},
        check=True,
        capture_output=True,
    )
    endpoints = {
        "action_endpoint": {"url": "http://127.0.0.1:5055/webhook"},
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(project / "tracker.db")},
    }
    (project / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (project / "credentials.yml").write_text("rest:\n")
    return project


def start_stock(assistant: Assistant, port: int, action_port: int) -> list[subprocess.Popen[bytes]]:
    """Start `rasa run` and `rasa run actions` on the stock project, with an empty tracker."""
    project = assistant.folder
    endpoints = yaml.safe_load((project / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{action_port}/webhook"
    (project / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (project / "tracker.db").unlink(missing_ok=True)
    server_log = open(project / "rasa.log", "ab")  # noqa: SIM115
    actions_log = open(project / "actions.log", "ab")  # noqa: SIM115
    return [
        subprocess.Popen(
            [
                *(str(BIN / "rasa"), "run", "--port", str(port)),
                *("--endpoints", "endpoints.yml", "--credentials", "credentials.yml"),
                *("--model", "models"),
            ],
            cwd=project,
            env=ENV,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(BIN / "rasa"), "run", "actions", "--port", str(action_port)],
            cwd=project,
            env=ENV,
            stdout=actions_log,
            stderr=subprocess.STDOUT,
        ),
    ]


def train_stock(assistant: Assistant, out: Path) -> None:
    """Train the stock model from scratch into `out` (its own cache)."""
    subprocess.run(
        [str(BIN / "rasa"), "train", "--out", str(out), "--force"],
        cwd=assistant.folder,
        env={**ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")},
        check=True,
        capture_output=True,
    )
