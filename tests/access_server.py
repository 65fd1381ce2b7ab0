"""The server the access tests (tests/e2e/test_access_*.py) share and the clients that talk to
it: the settings it runs with (a REST token, the read-only API with a JWT secret, one more
host name, a salt), REST and API calls, a socket.io client like the widget, and the
figures the tests report in reports/access.json (SECURITY.md quotes them)."""

from __future__ import annotations

import asyncio
import collections
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio
from http_probes import http, rest_post
from strategies import SCALE

REST_TOKEN = "rest-token-0123456789abcdef"
JWT_SECRET = "jwt-secret-0123456789abcdef"
API_TOKEN = "api-token-0123456789abcdef"
OTHER_HOST = "bot.example"
SALT = "access-test-salt"
QUESTION = "what is naltrexone approved for?"
# The web widget shows one bubble per reply (the answer with its source): disclaimer,
# answer, and the note that the article's list is missing make 3 bubbles.
NOTED_QUESTION = "what side effects can naltrexone cause?"
FIGURES: dict[str, int] = collections.defaultdict(int)

SERVE_ENV = {
    "LDN_BOT_REST_TOKEN": REST_TOKEN,
    "LDN_BOT_API_TOKEN": API_TOKEN,
    "LDN_BOT_API_JWT_SECRET": JWT_SECRET,
    "LDN_BOT_SALT": SALT,
}
SERVE_ARGS = ["--enable-api", "--allowed-host", OTHER_HOST]


def write_figures(root: Path) -> None:
    """The figures of this run, in reports/access.json under `root`."""
    out = root / "reports" / "access.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scale": SCALE, **FIGURES}, indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Served:
    """A running access server: its URL and its `var/` folder."""

    url: str
    var: Path


def rest(url: str, sender: str, text: str) -> list[str]:
    """A REST message with the token: the reply texts (asserting a 200)."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    status, _, answer = rest_post(url, body, Authorization=f"Bearer {REST_TOKEN}")
    assert status == 200, answer
    return [m.get("text", "") for m in json.loads(answer)]


def user_texts(url: str, conversation: str) -> list[str]:
    """The user messages of a stored conversation, through the read-only API."""
    status, _, raw = http(f"{url}/conversations/{conversation}/tracker?token={API_TOKEN}")
    assert status == 200, raw
    return [e["text"] for e in json.loads(raw)["events"] if e["event"] == "user"]


class WebClient:
    """A socket.io client like the widget: asks for a session, sends, hears replies."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient()
        self.heard: list[str] = []
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("session_confirm", self._confirm)
        self.client.on("bot_uttered", self._bot)

    async def _confirm(self, data: Any) -> None:
        await self.confirmed.put(data.get("session_id") if isinstance(data, dict) else data)

    async def _bot(self, data: dict[str, Any]) -> None:
        self.heard.append(data.get("text", ""))

    async def session(self, asked: Any) -> str:
        """Ask for the session `asked`: the one the server confirms."""
        if not self.client.connected:
            await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": asked})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def say(self, session_id: str, text: str, *, replies: int = 1) -> list[str]:
        """Send `text` in `session_id`: the replies heard (waiting for `replies`)."""
        before = len(self.heard)
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        deadline = time.monotonic() + 30
        while len(self.heard) < before + replies and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return self.heard[before:]

    async def close(self) -> None:
        """Disconnect."""
        await self.client.disconnect()
