"""A stand-in for the Slack Web API on loopback, and a signer for Events API requests.

The fake records every `chat.postMessage` call (its JSON body and token) and answers
as Slack does (`{"ok": true, "ts": ...}`); a wrong token gets Slack's `invalid_auth`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_TOKEN = "xoxb-test-0000"
SIGNING_SECRET = "test-signing-secret"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"


@dataclass
class FakeSlackAPI:
    token: str = BOT_TOKEN
    posts: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def start(self) -> FakeSlackAPI:
        fake = self
        counter = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                authorized = self.headers.get("Authorization") == f"Bearer {fake.token}"
                if not self.path.endswith("/chat.postMessage"):
                    reply: dict[str, Any] = {"ok": False, "error": "unknown_method"}
                elif not authorized:
                    reply = {"ok": False, "error": "invalid_auth"}
                else:
                    ts = f"{time.time():.0f}.{next(counter):06d}"
                    with fake._lock:
                        fake.posts.append(body)
                    reply = {"ok": True, "channel": body.get("channel"), "ts": ts}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [post for post in self.posts if post.get("channel") == channel]

    def wait_for(
        self, channel: str, *, count: int, quiet: float = 1.5, timeout: float = 60
    ) -> list:
        """The posts to `channel` once at least `count` arrived and none came for `quiet` s."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            posts = self.posts_to(channel)
            if len(posts) != seen:
                seen, since = len(posts), time.monotonic()
            elif len(posts) >= count and time.monotonic() - since >= quiet:
                return posts
            time.sleep(0.05)
        return self.posts_to(channel)


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    """Headers Slack sends with a request: `v0=HMAC-SHA256(secret, "v0:{ts}:{body}")`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_callback(
    text: str,
    *,
    user: str,
    channel: str,
    ts: str,
    event_id: str,
    kind: str = "message",
    channel_type: str = "im",
    **extra: Any,
) -> dict[str, Any]:
    """An Events API envelope as Slack sends it for a DM (`message.im`) or a mention."""
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        **extra,
    }
    if kind == "message":
        event["channel_type"] = channel_type
    return {
        "token": "deprecated-verification-token",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": "T0001",
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
