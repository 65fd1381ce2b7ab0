"""What the process-lifecycle tests (tests/e2e/test_lifecycle_*.py) share: the figures they
report in reports/lifecycle.json, an impostor that takes a port and answers every call
with a dose, and probes of a running `ldn-bot serve`."""

from __future__ import annotations

import collections
import contextlib
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from serving import processes
from strategies import SCALE

from ldn_bot.settings import Settings

FIGURES: dict[str, Any] = collections.defaultdict(int)
DOSE = "take 4.5 mg at bedtime; cut a 50 mg tablet in half"
ARTICLE_QUESTION = "what did the 2017 study find?"


def write_figures(root: Path) -> None:
    """The figures of this run, in reports/lifecycle.json under `root`."""
    out = root / "reports" / "lifecycle.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scale": SCALE, **FIGURES}, indent=2) + "\n")


class Impostor(http.server.ThreadingHTTPServer):
    """Another program on a port: answers /health 200 and every call with a dose."""

    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(b'{"status": "ok"}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = {"events": [], "responses": [{"text": DOSE}]}
                self._answer(json.dumps(reply).encode())

            def log_message(self, *_args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop answering and free the port."""
        self.shutdown()
        self.server_close()


@contextlib.contextmanager
def impostor_on(port: int, *, wait: float = 0.0) -> Iterator[Impostor]:
    """An impostor on `port`, trying for up to `wait` seconds to get it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            impostor = Impostor(port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    try:
        yield impostor
    finally:
        impostor.stop()


def ask(url: str, sender: str, text: str) -> tuple[int, list[str]]:
    """A REST message to serve at `url`: the status and the reply texts."""
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, [m["text"] for m in json.loads(reply.read()) if m.get("text")]
    except urllib.error.HTTPError as error:
        return error.code, []


def health_of(url: str) -> dict[str, Any]:
    """Serve's /health answer."""
    with urllib.request.urlopen(f"{url}/health", timeout=30) as reply:
        return dict(json.loads(reply.read()))


def wait_for(what: str, check: Any, timeout: float = 120.0) -> float:
    """Poll `check()` until true; the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.5)
    return time.monotonic() - started


def gone(pid: int, timeout: float) -> bool:
    """Whether process `pid` is gone within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid not in processes():
            return True
        time.sleep(0.1)
    return False


def response(cfg: Settings, name: str) -> str:
    """The text of domain response `name` (its first variant)."""
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return str(domain["responses"][name][0]["text"])
