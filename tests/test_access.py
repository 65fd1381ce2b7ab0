"""Access between users and from other sites (issue 12, items 3, 4, 5 and 8): each
channel's conversations in their own namespace, server-signed socket.io sessions, votes
only from this server's page on the caller's own messages, only this server's host
names, and the odd requests that used to get a 500.

The server here has a REST token, the read-only API with a JWT secret, and one more host
name; checks that need no settings use the shared `server` fixture.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
import pytest
import socketio
from http_probes import FOREIGN, http, rest_post
from serving import serving

from ldn_bot.exposure import ExposureError, allowed_host, exposure_from
from ldn_bot.feedback import FeedbackError, parse_feedback
from ldn_bot.senders import SessionSigner, person_ids
from ldn_bot.settings import Settings

REST_TOKEN = "rest-token-0123456789abcdef"
JWT_SECRET = "jwt-secret-0123456789abcdef"
API_TOKEN = "api-token-0123456789abcdef"
OTHER_HOST = "bot.example"
SALT = "access-test-salt"
QUESTION = "what is naltrexone approved for?"
# The web widget shows one bubble per reply (the answer with its source): disclaimer,
# answer, and the note that the article's list is missing make 3 bubbles.
NOTED_QUESTION = "what side effects can naltrexone cause?"
SCALE = max(1, int(os.environ.get("LDN_BOT_FUZZ_SCALE", "1")))
FIGURES: dict[str, int] = collections.defaultdict(int)


@pytest.fixture(scope="module", autouse=True)
def report_figures(cfg: Settings) -> Iterator[None]:
    """The figures of this run, in reports/access.json (SECURITY.md quotes them)."""
    yield
    out = cfg.root / "reports" / "access.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scale": SCALE, **FIGURES}, indent=2, sort_keys=True) + "\n")


# --- the rules themselves -----------------------------------------------------------------


def test_signed_session_ids_verify_and_anything_else_does_not() -> None:
    signer = SessionSigner("secret-one")
    issued = signer.issue()
    nonce = signer.verify(issued)
    assert nonce is not None and issued.startswith(nonce + ".")
    other = SessionSigner("secret-two").issue()
    flipped = issued[:-1] + ("0" if issued[-1] != "0" else "1")
    for forged in (other, flipped, nonce, issued + "\n", issued.upper(), None, 5, "", "x" * 200):
        assert signer.verify(forged) is None, forged


def test_forget_names_a_channel_or_every_channel() -> None:
    assert person_ids("rest:alice").exact == ("rest:alice",)
    assert person_ids("rest:alice").prefixes == ()
    bare = person_ids("alice")
    assert set(bare.exact) == {"alice", "rest:alice", "socketio:alice", "slack:alice"}
    assert person_ids("U123").prefixes == ("slack:U123_", "U123_")
    assert person_ids("slack:U123").prefixes == ("slack:U123_",)
    signed = SessionSigner("s").issue()
    assert f"socketio:{signed.split('.')[0]}" in person_ids(signed).exact


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("127.0.0.1:5005", True),
        ("localhost:5005", True),
        ("LOCALHOST:5005", True),
        ("[::1]:5005", True),
        ("bot.example", True),
        ("bot.example:443", True),
        ("127.0.0.1:5006", False),
        ("evil.example:5005", False),
        ("rebound.evil.example", False),
        ("127.0.0.1.evil.example:5005", False),
        ("", False),
        (None, False),
        ("bot.example:x", False),
        ("[::1", False),
    ],
)
def test_only_this_servers_host_names_are_allowed(header: str | None, allowed: bool) -> None:
    exposure = exposure_from(
        host="127.0.0.1", environ={}, port=5005, public_url="https://bot.example/"
    )
    assert exposure.host_allowed(header) is allowed


def test_allowed_hosts_from_the_option_or_the_environment() -> None:
    from_env = exposure_from(
        host="0.0.0.0", environ={"LDN_BOT_ALLOWED_HOSTS": "a.example, b.example:8443"}, port=80
    )
    assert from_env.host_allowed("a.example") and from_env.host_allowed("b.example:8443")
    assert not from_env.host_allowed("b.example:8444")
    summary = " ".join(exposure_from(host="0.0.0.0", environ={}, port=80).summary("http://x"))
    assert "0.0.0.0 is not loopback: name the host names" in summary
    with pytest.raises(ExposureError):
        allowed_host("https://bot.example/")


MALFORMED_VOTES: dict[str, bytes] = {
    "index 1e400": b'{"session_id": "s", "bot_index": 1e400, "vote": "up"}',
    "index float": b'{"session_id": "s", "bot_index": 1.0, "vote": "up"}',
    "index huge": b'{"session_id": "s", "bot_index": 1' + b"0" * 40 + b', "vote": "up"}',
    "index thousands of digits": b'{"session_id": "s", "bot_index": '
    + b"9" * 5000
    + b', "vote": "up"}',
    "index negative": b'{"session_id": "s", "bot_index": -1, "vote": "up"}',
    "index true": b'{"session_id": "s", "bot_index": true, "vote": "up"}',
    "index string": b'{"session_id": "s", "bot_index": "2", "vote": "up"}',
    "no index": b'{"session_id": "s", "vote": "up"}',
    "vote sideways": b'{"session_id": "s", "bot_index": 0, "vote": "sideways"}',
    "vote list": b'{"session_id": "s", "bot_index": 0, "vote": ["up"]}',
    "session lone surrogate": b'{"session_id": "\\ud800", "bot_index": 0, "vote": "up"}',
    "session NUL": b'{"session_id": "a\\u0000", "bot_index": 0, "vote": "up"}',
    "session number": b'{"session_id": 5, "bot_index": 0, "vote": "up"}',
    "session too long": json.dumps(
        {"session_id": "s" * 129, "bot_index": 0, "vote": "up"}
    ).encode(),
    "deep JSON": b"[" * 30_000 + b"]" * 30_000,
    "deep object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "not JSON": b'{"session_id": ',
    "not UTF-8": b'{"session_id": "\xff\xfe"}',
    "array": b"[]",
    "empty": b"",
}


@pytest.mark.parametrize("body", MALFORMED_VOTES.values(), ids=MALFORMED_VOTES.keys())
def test_malformed_votes_are_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(FeedbackError, match=r"expected|must|not"):
        parse_feedback(body)


# --- a server with a REST token, the read-only API and one more host name -------------------


@dataclass(frozen=True)
class Served:
    url: str
    var: Path


@pytest.fixture(scope="module")
def access(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    env = {
        "LDN_BOT_REST_TOKEN": REST_TOKEN,
        "LDN_BOT_API_TOKEN": API_TOKEN,
        "LDN_BOT_API_JWT_SECRET": JWT_SECRET,
        "LDN_BOT_SALT": SALT,
    }
    var = tmp_path_factory.mktemp("access")
    with serving(cfg, var, env, args=["--enable-api", "--allowed-host", OTHER_HOST]) as url:
        yield Served(url, var)


def rest(url: str, sender: str, text: str) -> list[str]:
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
        if not self.client.connected:
            await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": asked})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def say(self, session_id: str, text: str, *, replies: int = 1) -> list[str]:
        before = len(self.heard)
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        deadline = time.monotonic() + 30
        while len(self.heard) < before + replies and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return self.heard[before:]

    async def close(self) -> None:
        await self.client.disconnect()


@pytest.mark.model
def test_a_socketio_client_cannot_write_into_a_rest_conversation(access: Served) -> None:
    victim = f"victim-{time.time_ns()}"
    rest(access.url, victim, QUESTION)

    async def attack() -> tuple[str, list[str], list[str]]:
        web = WebClient(access.url)
        try:
            session = await web.session(victim)  # asks to join the REST conversation
            # Written with the REST id: ignored, it is not a session this server signed.
            await web.client.emit("user_uttered", {"message": "injected", "session_id": victim})
            own = await web.say(session, "how much LDN should I take?")
            return session, own, list(web.heard)
        finally:
            await web.close()

    session, own, heard = asyncio.run(attack())
    assert session != victim and SessionSigner(SALT).verify(session) is not None
    assert own  # the client's own conversation is answered
    assert user_texts(access.url, f"rest:{victim}") == [QUESTION]
    assert user_texts(access.url, f"socketio:{victim}") == []
    assert "injected" not in json.dumps(heard)
    nonce = session.split(".")[0]
    assert user_texts(access.url, f"socketio:{nonce}") == ["how much LDN should I take?"]
    # And back: a REST caller naming the web session or a Slack conversation gets its own.
    for sender in (session, nonce, f"socketio:{nonce}", "U123_C456", "slack:U123_C456"):
        rest(access.url, sender, "hello")
    assert user_texts(access.url, f"socketio:{nonce}") == ["how much LDN should I take?"]
    assert user_texts(access.url, "slack:U123_C456") == []
    assert user_texts(access.url, "rest:slack:U123_C456") == ["hello"]
    FIGURES["cross_channel_writes_attempted"] += 6  # 1 socket.io -> REST, 5 REST -> others
    FIGURES["cross_channel_writes_landed"] += 0


FORGED_SESSIONS: dict[str, Any] = {
    "a REST sender": "conversation-42",
    "well-formed, wrong MAC": "0" * 32 + "." + "1" * 32,
    "signed by another server": SessionSigner("another-salt").issue(),
    "none": None,
    "too long": "x" * 1000,
    "not a string": {"a": 1},
}


@pytest.mark.model
def test_a_forged_socketio_session_id_gets_a_fresh_one(access: Served) -> None:
    signer = SessionSigner(SALT)

    async def run() -> dict[str, str]:
        web = WebClient(access.url)
        try:
            return {name: await web.session(forged) for name, forged in FORGED_SESSIONS.items()}
        finally:
            await web.close()

    given = asyncio.run(run())
    for name, session in given.items():
        assert session != FORGED_SESSIONS[name] and signer.verify(session), name
    assert len(set(given.values())) == len(given)
    FIGURES["forged_session_requests"] += len(given)
    FIGURES["forged_session_requests_given_a_fresh_id"] += len(given)


@pytest.mark.model
def test_guessed_session_ids_never_reach_another_conversation(access: Served) -> None:
    """Messages sent with ids this server did not sign: REST senders, well-formed ids with
    a wrong MAC, ids signed by another server. None is stored, none answered."""
    victim = f"guess-victim-{time.time_ns()}"
    rest(access.url, victim, QUESTION)
    other = SessionSigner("another-salt")
    guesses: list[str] = []
    for n in range(20 * SCALE):
        guesses += [victim, f"rest:{victim}", f"{n:032x}.{n:032x}", other.issue()]

    async def run() -> tuple[list[str], list[str]]:
        web = WebClient(access.url)
        try:
            session = await web.session(None)
            for guess in guesses:
                # One at a time, acknowledged: queued emits would be packed into one polling
                # POST, which Engine.IO refuses beyond 16 packets.
                payload = {"message": "guessed", "session_id": guess}
                await web.client.call("user_uttered", payload, timeout=10)
            # Sent last on the same socket: once it is answered, the guesses were handled.
            own = await web.say(session, "hello")
            return own, list(web.heard)
        finally:
            await web.close()

    own, heard = asyncio.run(run())
    assert own
    assert user_texts(access.url, f"rest:{victim}") == [QUESTION]
    for guess in {victim, guesses[2], guesses[-1]}:
        assert user_texts(access.url, f"socketio:{guess.split('.')[0]}") == []
    assert len(heard) == len(own)  # nothing but the answer to its own message
    FIGURES["guessed_session_messages_sent"] += len(guesses)
    FIGURES["guessed_session_messages_stored_or_answered"] += 0


@pytest.mark.model
def test_a_signed_session_continues_after_a_reload(access: Served) -> None:
    async def run() -> tuple[str, str, list[str]]:
        first = WebClient(access.url)
        session = await first.session(None)
        await first.say(session, "hello")
        await first.close()
        again = WebClient(access.url)  # the reloaded page, with the id from localStorage
        confirmed = await again.session(session)
        replies = await again.say(confirmed, QUESTION)
        await again.close()
        return session, confirmed, replies

    session, confirmed, replies = asyncio.run(run())
    assert confirmed == session and replies
    assert user_texts(access.url, f"socketio:{session.split('.')[0]}") == ["hello", QUESTION]


def _web_conversation(url: str) -> tuple[str, int]:
    """A new web conversation with one article answer: its session id and bubble count."""

    async def run() -> tuple[str, int]:
        web = WebClient(url)
        session = await web.session(None)
        heard = await web.say(session, NOTED_QUESTION, replies=3)
        await web.close()
        return session, len(heard)

    return asyncio.run(run())


def vote(
    url: str, body: Any, *, origin: str | None = "own", content_type: str = "application/json"
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = url if origin == "own" else origin
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, _, answer = http(f"{url}/api/feedback", method="POST", body=raw, headers=headers)
    return status, json.loads(answer) if answer else None


def votes_stored(var: Path) -> list[tuple[int, str]]:
    import sqlite3

    with sqlite3.connect(var / "conversations.sqlite") as db:
        return db.execute("SELECT bot_index, vote FROM ledger_votes ORDER BY id").fetchall()


@pytest.mark.model
def test_feedback_from_another_origin_is_refused(access: Served) -> None:
    session, _ = _web_conversation(access.url)
    body = {"session_id": session, "bot_index": 1, "vote": "up"}
    before = votes_stored(access.var)
    assert vote(access.url, body, origin=FOREIGN)[0] == 403
    assert vote(access.url, body, origin=None)[0] == 403  # browsers always send one
    assert vote(access.url, body, origin="null")[0] == 403
    # the cross-origin "simple request" a form or text/plain fetch can send unasked
    assert vote(access.url, body, origin=FOREIGN, content_type="text/plain")[0] == 415
    assert vote(access.url, body, content_type="application/x-www-form-urlencoded")[0] == 415
    assert votes_stored(access.var) == before
    FIGURES["votes_from_elsewhere_refused"] += 5
    assert vote(access.url, body)[0] == 204


@pytest.mark.model
def test_feedback_for_a_message_that_does_not_exist_is_refused(access: Served) -> None:
    session, bubbles = _web_conversation(access.url)
    before = votes_stored(access.var)
    other_server = SessionSigner("another-salt").issue()
    never_issued = "0" * 32 + "." + "1" * 32
    fresh = SessionSigner(SALT).issue()  # signed, but no conversation yet
    assert vote(access.url, {"session_id": other_server, "bot_index": 0, "vote": "up"})[0] == 403
    assert vote(access.url, {"session_id": never_issued, "bot_index": 0, "vote": "up"})[0] == 403
    assert vote(access.url, {"session_id": "rest-user", "bot_index": 0, "vote": "up"})[0] == 403
    assert vote(access.url, {"session_id": fresh, "bot_index": 0, "vote": "up"})[0] == 404
    status, answer = vote(access.url, {"session_id": session, "bot_index": 500, "vote": "up"})
    assert status == 404 and "no such answer" in answer["error"]
    assert (
        vote(access.url, {"session_id": session, "bot_index": bubbles + 5, "vote": "up"})[0] == 404
    )
    assert votes_stored(access.var) == before
    FIGURES["votes_on_foreign_or_missing_messages_refused"] += 6


@pytest.mark.model
def test_a_vote_on_the_disclaimer_is_refused(access: Served) -> None:
    """Bubble 0 (the disclaimer, sent before any question) took votes (F14)."""
    session, _ = _web_conversation(access.url)
    before = votes_stored(access.var)
    status, answer = vote(access.url, {"session_id": session, "bot_index": 0, "vote": "down"})
    assert status == 404 and "no such answer" in answer["error"]
    assert votes_stored(access.var) == before
    assert vote(access.url, {"session_id": session, "bot_index": 1, "vote": "up"})[0] == 204


@pytest.mark.model
def test_feedback_from_this_host_with_the_wrong_scheme_is_refused(access: Served) -> None:
    """Only host:port was compared: https://127.0.0.1:PORT passed for an http server (F14)."""
    session, _ = _web_conversation(access.url)
    body = {"session_id": session, "bot_index": 1, "vote": "up"}
    before = votes_stored(access.var)
    other_scheme = access.url.replace("http://", "https://")
    assert vote(access.url, body, origin=other_scheme)[0] == 403
    assert vote(access.url, body, origin=access.url.replace("http://", "ftp://"))[0] == 403
    assert votes_stored(access.var) == before
    # Behind a TLS proxy (X-Forwarded-Proto, trusted as the socket.io origin check does)
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "Origin": other_scheme,
        "X-Forwarded-Proto": "https",
    }
    status, _, _ = http(f"{access.url}/api/feedback", method="POST", body=raw, headers=headers)
    assert status == 204


@pytest.mark.model
def test_repeated_votes_count_once(access: Served) -> None:
    session, _ = _web_conversation(access.url)
    before = len(votes_stored(access.var))
    sent = 0
    for n in range(50):
        body = {"session_id": session, "bot_index": 1, "vote": "up" if n % 2 else "down"}
        assert vote(access.url, body)[0] == 204
        sent += 1
    assert vote(access.url, {"session_id": session, "bot_index": 2, "vote": "up"})[0] == 204
    stored = votes_stored(access.var)[before:]
    assert sorted(stored) == [(1, "up"), (2, "up")]  # the last of the 50 counts
    FIGURES["repeated_votes_sent"] += sent
    FIGURES["repeated_votes_stored"] += len([s for s in stored if s[0] == 1])


@pytest.mark.model
@pytest.mark.parametrize("body", MALFORMED_VOTES.values(), ids=MALFORMED_VOTES.keys())
def test_malformed_feedback_gets_400_never_500(access: Served, body: bytes) -> None:
    status, answer = vote(access.url, body)
    assert status == 400 and answer["error"]
    FIGURES["malformed_votes_sent"] += 1
    FIGURES["malformed_votes_answered_400"] += 1


@pytest.mark.model
@pytest.mark.parametrize(
    "path", ["/", "/health", "/config.js", "/static/app.js", "/socket.io/?EIO=4&transport=polling"]
)
def test_a_foreign_host_header_is_refused(server: str, path: str) -> None:
    status, _, answer = http(f"{server}{path}", headers={"Host": "rebound.evil.example"})
    assert status == 421 and b"allowed-host" in answer
    FIGURES["foreign_host_requests_refused_421"] += 1
    port = server.rsplit(":", 1)[1]
    assert http(f"{server}{path}", headers={"Host": f"localhost:{port}"})[0] == 200


@pytest.mark.model
def test_a_foreign_host_header_is_refused_on_posts_too(server: str) -> None:
    body = json.dumps({"sender": "rebound", "message": "hello"}).encode()
    evil = {"Host": "rebound.evil.example"}
    assert rest_post(server, body, **evil)[0] == 421
    for path in ("/api/feedback", "/webhooks/slack/webhook"):
        headers = {"Content-Type": "application/json", **evil}
        assert http(f"{server}{path}", method="POST", body=b"{}", headers=headers)[0] == 421


@pytest.mark.model
def test_a_foreign_host_header_cannot_open_a_websocket(server: str) -> None:
    async def opens(host: str) -> bool:
        ws_url = server.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(ws_url, headers={"Host": host}, timeout=10):
                    return True
            except aiohttp.WSServerHandshakeError as error:
                assert error.status == 421
                return False

    port = server.rsplit(":", 1)[1]
    assert not asyncio.run(opens(f"rebound.evil.example:{port}"))
    assert asyncio.run(opens(f"127.0.0.1:{port}"))


@pytest.mark.model
def test_rest_replies_name_the_sender_as_sent(server: str) -> None:
    body = json.dumps({"sender": "as-sent", "message": "hello"}).encode()
    status, _, answer = rest_post(server, body)
    assert status == 200
    assert {m["recipient_id"] for m in json.loads(answer)} == {"as-sent"}  # not rest:as-sent


@pytest.mark.model
def test_an_allowed_host_name_is_served(access: Served) -> None:
    assert http(f"{access.url}/", headers={"Host": OTHER_HOST})[0] == 200
    assert http(f"{access.url}/", headers={"Host": "evil.example"})[0] == 421
    # A proxy's X-Forwarded-Host is not trusted.
    forwarded = {"Host": "evil.example", "X-Forwarded-Host": OTHER_HOST}
    assert http(f"{access.url}/", headers=forwarded)[0] == 421
    log = (access.var / "serve.log").read_text()
    assert "Hosts: 127.0.0.1:" in log and OTHER_HOST in log


@pytest.mark.model
def test_jwt_alg_none_gets_401(access: Served) -> None:
    admin = {"user": {"username": "ops", "role": "admin"}}
    unsigned = jwt.encode(admin, None, algorithm="none")  # type: ignore[arg-type]
    other_alg = jwt.encode(admin, JWT_SECRET, algorithm="HS512")
    for token in (unsigned, other_alg, "a.b.c", "not-a-jwt", unsigned + "x"):
        status, _, answer = http(
            f"{access.url}/status", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 401, (token, answer)
        assert json.loads(answer)["reason"] == "NotAuthenticated"
    signed = jwt.encode(admin, JWT_SECRET, algorithm="HS256")
    assert http(f"{access.url}/status", headers={"Authorization": f"Bearer {signed}"})[0] == 200


@pytest.mark.model
@pytest.mark.parametrize(
    "user",
    ["ops", ["ops", "admin"], 5, None, True],
    ids=["string", "list", "number", "null", "bool"],
)
def test_a_signed_jwt_whose_user_claim_is_not_an_object_gets_401(access: Served, user: Any) -> None:
    """Rasa calls `.get` on the `user` claim: a string or a list gave a 500 (F12)."""
    token = jwt.encode({"user": user}, JWT_SECRET, algorithm="HS256")
    for path in ("/status", "/conversations/ops/tracker"):
        status, _, answer = http(
            f"{access.url}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 401, (path, answer)
        assert json.loads(answer)["reason"] == "NotAuthenticated"


@pytest.mark.model
@pytest.mark.parametrize(
    "body",
    [b'{"text": ', b'{"text": 5}', b"[]", b'"hi"', b"\xff\xfe", b'{"message": "hi"}'],
    ids=["broken", "number", "list", "string", "not-utf8", "no-text"],
)
def test_a_parse_request_that_is_not_text_gets_400(access: Served, body: bytes) -> None:
    """POST /model/parse with broken JSON or {"text": 5} gave a 500 (F12)."""
    url = f"{access.url}/model/parse?token={API_TOKEN}"
    headers = {"Content-Type": "application/json"}
    status, _, answer = http(url, method="POST", body=body, headers=headers)
    assert status == 400, answer
    assert http(f"{access.url}/model/parse", method="POST", body=body, headers=headers)[0] == 401
    good = http(url, method="POST", body=b'{"text": "what is LDN?"}', headers=headers)
    assert good[0] == 200


@pytest.mark.model
@pytest.mark.parametrize(
    "path",
    [
        "/static/",
        "/static",
        "/static/%00",
        "/static/app.js%00",
        "/static/../x",
        "/static/..%2fpyproject.toml",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/vendor",
        "/static/vendor/",
        "/static/nothing-here.js",
        "/static/%5c..%5cx",
    ],
)
def test_static_oddities_get_404(server: str, path: str) -> None:
    parts = urlsplit(server)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalising
    reply = connection.getresponse()
    body = reply.read()
    connection.close()
    assert reply.status == 404, body[:200]
    FIGURES["static_oddities_answered_404"] += 1
    assert http(f"{server}/static/app.js")[0] == 200


@pytest.mark.model
def test_rest_requires_application_json(server: str) -> None:
    body = json.dumps({"sender": f"ctype-{time.time_ns()}", "message": "hello"}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "", "json"):
        status, _, answer = rest_post(server, body, **{"Content-Type": content_type})
        assert status == 415 and b"Content-Type" in answer, content_type
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        assert rest_post(server, body, **{"Content-Type": content_type})[0] == 200


@pytest.mark.model
def test_open_rest_behind_a_proxy_for_a_public_name_needs_the_token(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """A loopback server behind a reverse proxy for bot.example is reached from anywhere:
    without LDN_BOT_REST_TOKEN, REST answers only requests addressed to a loopback name."""
    body = json.dumps({"sender": "proxied", "message": "what is ldn?"}).encode()
    with serving(cfg, tmp_path, {}, args=["--public-url", f"https://{OTHER_HOST}"]) as url:
        status, _, answer = rest_post(url, body, Host=OTHER_HOST)
        assert status == 403 and b"LDN_BOT_REST_TOKEN" in answer
        port = url.rsplit(":", 1)[1]
        assert rest_post(url, body, Host=f"localhost:{port}")[0] == 200
        assert http(f"{url}/", headers={"Host": OTHER_HOST})[0] == 200  # the page still is
