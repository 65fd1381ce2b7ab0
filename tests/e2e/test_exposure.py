"""What `ldn-bot serve` exposes: the HTTP API (off; read-only with a token), CORS (only
configured origins), REST (loopback only, or with a bearer token).

The defaults are checked on the shared `server` fixture in test_channels.py; here are two
more servers: one with everything switched on, one bound to a non-loopback address without
a REST token. The settings themselves are in tests/unit/test_exposure_settings.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from http_probes import (
    FOREIGN,
    http,
    preflight,
    rest_post,
    socketio_handshake,
    websocket_opens,
)
from serving import serving

from ldn_bot.settings import Settings

API_TOKEN = "api-token-0123456789abcdef"
JWT_SECRET = "jwt-secret-0123456789abcdef"
REST_TOKEN = "rest-token-0123456789abcdef"
CLINIC = "https://clinic.example"

# --- a server with everything switched on ------------------------------------------------


@dataclass(frozen=True)
class Served:
    url: str
    log: Path


@pytest.fixture(scope="module")
def exposed(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """serve with the read-only API (token and JWT), one CORS origin and a REST token."""
    env = {
        "LDN_BOT_API_TOKEN": API_TOKEN,
        "LDN_BOT_API_JWT_SECRET": JWT_SECRET,
        "LDN_BOT_REST_TOKEN": REST_TOKEN,
    }
    var = tmp_path_factory.mktemp("exposed")
    with serving(cfg, var, env, args=["--enable-api", "--cors-origin", CLINIC]) as url:
        yield Served(url, var / "serve.log")


def api(
    url: str, path: str, *, method: str = "GET", body: Any = None, token: str | None = API_TOKEN
) -> tuple[int, Any]:
    """Status and JSON answer of an HTTP API request with Rasa's `?token=`."""
    query = f"?token={token}" if token else ""
    status, _, raw = http(
        f"{url}{path}{query}",
        method=method,
        body=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    return status, json.loads(raw) if raw.startswith((b"{", b"[")) else raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.model
class TestEverythingSwitchedOn:
    def test_serve_says_what_is_open(self, exposed: Served) -> None:
        log = exposed.log.read_text()
        assert "REST: POST" in log and "Authorization: Bearer <LDN_BOT_REST_TOKEN>" in log
        assert "HTTP API: read-only routes, with ?token= or JWT" in log
        assert f"CORS: {CLINIC}" in log
        assert API_TOKEN not in log and REST_TOKEN not in log

    def test_the_api_needs_the_token(self, exposed: Served) -> None:
        assert api(exposed.url, "/status")[0] == 200
        for token in (None, "wrong-token-0123456789"):
            status, answer = api(exposed.url, "/status", token=token)
            assert status == 401
            assert answer["reason"] == "NotAuthenticated"
            assert "version" not in answer  # Rasa's error answers carry its version

    def test_the_api_takes_a_jwt_and_scopes_user_tokens_to_their_conversation(
        self, exposed: Served
    ) -> None:
        def with_jwt(path: str, user: dict[str, str]) -> int:
            token = jwt.encode({"user": user}, JWT_SECRET, algorithm="HS256")
            return http(f"{exposed.url}{path}", headers=bearer(token))[0]

        assert with_jwt("/status", {"username": "ops", "role": "admin"}) == 200
        assert (
            with_jwt("/conversations/jwt-me/tracker", {"username": "jwt-me", "role": "user"}) == 200
        )
        assert (
            with_jwt("/conversations/other/tracker", {"username": "jwt-me", "role": "user"}) == 403
        )
        forged = jwt.encode(
            {"user": {"role": "admin"}}, "not-the-secret-0123456", algorithm="HS256"
        )
        assert http(f"{exposed.url}/status", headers=bearer(forged))[0] == 401

    def test_read_only_routes_answer(self, exposed: Served) -> None:
        status, parsed = api(exposed.url, "/model/parse", method="POST", body={"text": "hello"})
        assert status == 200 and parsed["intent"]["name"] == "greet"
        status, domain = api(exposed.url, "/domain")
        assert status == 200 and "responses" in domain
        sender = "api-reads-this"
        spoofed = {"sender": sender, "message": "hello", "input_channel": "slack"}
        assert rest_post(exposed.url, json.dumps(spoofed).encode(), **bearer(REST_TOKEN))[0] == 200
        status, tracker = api(exposed.url, f"/conversations/rest:{sender}/tracker")
        assert status == 200
        [user] = [e for e in tracker["events"] if e["event"] == "user"]
        assert (user["text"], user["input_channel"]) == ("hello", "rest")
        assert api(exposed.url, f"/conversations/rest:{sender}/story")[0] == 200

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("PUT", "/model", {"model_file": "models/other.tar.gz"}),
            ("DELETE", "/model", None),
            ("POST", "/model/train", {}),
            ("POST", "/model/test/stories", {}),
            ("POST", "/model/test/intents", {}),
            ("POST", "/model/predict", []),
            (
                "POST",
                "/conversations/victim/tracker/events",
                {"event": "bot", "text": "take 50 mg"},
            ),
            ("PUT", "/conversations/victim/tracker/events", [{"event": "bot", "text": "x"}]),
            ("POST", "/conversations/victim/execute", {"name": "utter_greet"}),
            ("POST", "/conversations/victim/trigger_intent", {"name": "greet"}),
            ("POST", "/conversations/victim/predict", None),
            ("POST", "/conversations/victim/messages", {"text": "hi", "sender": "user"}),
            ("GET", "/version", None),
        ],
    )
    def test_routes_that_change_the_model_or_a_conversation_are_not_served_even_with_the_token(
        self, exposed: Served, method: str, path: str, body: Any
    ) -> None:
        _, before = api(exposed.url, "/status")
        assert api(exposed.url, path, method=method, body=body)[0] == 404
        assert api(exposed.url, "/status") == (200, before)
        assert _said(exposed.url, "victim") == _said(exposed.url, "never-touched")

    def test_the_page_not_rasas_banner_is_at_the_root(self, exposed: Served) -> None:
        status, _, page = http(f"{exposed.url}/")
        assert status == 200 and b"<html" in page.lower() and b"Hello from Rasa" not in page

    def test_rest_needs_the_bearer_token(self, exposed: Served) -> None:
        body = _body("rest-token-user", "hello")
        assert rest_post(exposed.url, body)[0] == 401
        assert rest_post(exposed.url, body, **bearer("wrong-token-0123456789"))[0] == 401
        assert rest_post(exposed.url, body, Authorization=REST_TOKEN)[0] == 401
        status, _, answer = rest_post(exposed.url, body, **bearer(REST_TOKEN))
        assert status == 200 and json.loads(answer)
        # the token is checked first: no hint about bodies to whoever lacks it
        assert rest_post(exposed.url, b"not json")[0] == 401
        assert rest_post(exposed.url, b"not json", **bearer(REST_TOKEN))[0] == 400

    def test_a_configured_origin_gets_cors_and_others_do_not(self, exposed: Served) -> None:
        body = _body("cors-user", "hello")
        for path in ("/webhooks/rest/webhook", "/api/feedback"):
            assert preflight(exposed.url, path, CLINIC)["access-control-allow-origin"] == CLINIC
            assert "access-control-allow-origin" not in preflight(exposed.url, path, FOREIGN)
        _, headers, _ = rest_post(exposed.url, body, Origin=CLINIC, **bearer(REST_TOKEN))
        assert headers["access-control-allow-origin"] == CLINIC
        _, headers, _ = rest_post(exposed.url, body, Origin=FOREIGN, **bearer(REST_TOKEN))
        assert "access-control-allow-origin" not in headers
        _, headers, _ = http(f"{exposed.url}/status?token={API_TOKEN}", headers={"Origin": CLINIC})
        assert headers["access-control-allow-origin"] == CLINIC

    def test_socketio_accepts_its_own_and_the_configured_origin_only(self, exposed: Served) -> None:
        assert socketio_handshake(exposed.url, CLINIC) == 200
        assert socketio_handshake(exposed.url, exposed.url) == 200  # the page's own origin
        assert socketio_handshake(exposed.url, FOREIGN) == 400
        assert websocket_opens(exposed.url, CLINIC)
        assert not websocket_opens(exposed.url, FOREIGN)


def _said(url: str, sender: str) -> list[tuple[str, str]]:
    """What the conversation holds: a new one has only its session start's disclaimer."""
    _, tracker = api(url, f"/conversations/{sender}/tracker")
    return [(e["event"], e["text"]) for e in tracker["events"] if e["event"] in ("user", "bot")]


def _body(sender: str, message: str) -> bytes:
    return json.dumps({"sender": sender, "message": message}).encode()


# --- a server on a non-loopback address without a REST token -----------------------------


@pytest.mark.model
def test_rest_is_off_on_a_public_address_without_a_token(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    with serving(cfg, tmp_path, {}, args=["--host", "0.0.0.0"]) as url:
        assert rest_post(url, _body("public", "hello"))[0] == 404
        assert http(f"{url}/")[0] == 200  # the page and its socket.io are unaffected
        assert socketio_handshake(url, url) == 200
    log = (tmp_path / "serve.log").read_text()
    assert "REST: off (0.0.0.0 is not loopback" in log
    assert "HTTP API: off" in log and "CORS: same origin only" in log
    assert "0.0.0.0 is not loopback: name the host names" in log  # Host allow-list
