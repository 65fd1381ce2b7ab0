"""`ldn-bot serve` end to end: REST and socket.io on one server, the same replies
as `ldn-bot ask` (golden transcripts); with the default exposure: no HTTP API, no version
banner, no CORS for other sites, REST open on loopback and checking its requests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import socketio
from http_probes import (
    FOREIGN,
    MALFORMED_REST_BODIES,
    http,
    preflight,
    rest_post,
    socketio_handshake,
    websocket_opens,
)

from ldn_bot.ledger.store import sender_hash
from ldn_bot.settings import Settings

pytestmark = pytest.mark.model

TRANSCRIPTS = {
    "greeting": ["hello there"],
    "article": ["what is naltrexone approved for?"],
    "dosing": ["how much LDN should I take?"],
    "splitting": ["can I cut a 50 mg tablet?"],
    "emergency": ["I took 30 pills and my chest hurts"],
    "off_topic": ["what's the capital of France?"],
    "follow_up": ["what did the 2017 study find?", "tell me more", "and how much of it?"],
}


def rest(url: str, sender: str, text: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


async def socket_transcript(url: str, lines: list[str]) -> tuple[str, list[list[str]]]:
    """The session id the server issued, and the replies to each line."""
    client = socketio.AsyncClient()
    received: list[str] = []
    confirmed: asyncio.Queue[str] = asyncio.Queue()

    @client.on("session_confirm")
    async def _confirm(session_id: str) -> None:
        await confirmed.put(session_id)

    @client.on("bot_uttered")
    async def _bot(data: dict[str, Any]) -> None:
        received.append(data.get("text", ""))

    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    await client.emit("session_request", {"session_id": None})
    session = await asyncio.wait_for(confirmed.get(), 10)
    turns = []
    for line in lines:
        before = len(received)
        await client.emit("user_uttered", {"message": line, "session_id": session})
        quiet_since, seen = time.monotonic(), before
        while time.monotonic() - quiet_since < 1.5:
            await asyncio.sleep(0.1)
            if len(received) != seen:
                seen, quiet_since = len(received), time.monotonic()
        turns.append(received[before:])
    await client.disconnect()
    return session, turns


def ask(cfg: Settings, session: str | None, lines: list[str], var: Path) -> list[list[str]]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa_project",
            "ask",
            "--json",
            *(["--session", session] if session else []),
        ],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=cfg.root,
        env={**os.environ, "LDN_BOT_VAR": str(var)},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line)["replies"] for line in result.stdout.splitlines()]


def _paragraphs(replies: list[str]) -> list[str]:
    """The paragraphs of a turn's replies (socket.io sends a reply as one message)."""
    return [p.strip() for reply in replies for p in reply.split("\n\n") if p.strip()]


# What the web widget gets on top of the words: an article answer escaped for its
# Markdown, the source line with a link to the quoted passage (`ldn_bot.web_bubbles`).
_PASSAGE_LINK = re.compile(r" · \[[^\]]+\]\(/article\?q=[a-z0-9,]+#[a-z0-9]+\)")
_ESCAPED = re.compile(r"\\(.)")


def _words(replies: list[str]) -> list[str]:
    """The socket.io replies without the passage link and the Markdown escapes."""
    return [_ESCAPED.sub(r"\1", _PASSAGE_LINK.sub("", reply)) for reply in replies]


def test_every_channel_gives_the_same_replies(cfg: Settings, server: str, tmp_path: Path) -> None:
    singles = {name: lines[0] for name, lines in TRANSCRIPTS.items() if len(lines) == 1}
    asked = dict(zip(singles, ask(cfg, None, list(singles.values()), tmp_path), strict=True))
    follow_up = TRANSCRIPTS["follow_up"]
    asked_follow_up = ask(cfg, "ask-follow-up", follow_up, tmp_path)
    for name, lines in TRANSCRIPTS.items():
        via_ask = asked_follow_up if name == "follow_up" else [asked[name]]
        via_rest = [
            [m["text"] for m in rest(server, f"rest-{name}", line) if "text" in m] for line in lines
        ]
        _, via_socket = asyncio.run(socket_transcript(server, lines))
        for turn_rest, turn_socket, turn_ask in zip(via_rest, via_socket, via_ask, strict=True):
            assert _paragraphs(turn_rest) == _paragraphs(turn_ask), name
            assert _paragraphs(turn_rest) == _paragraphs(_words(turn_socket)), name


def test_rest_dose_question_gets_the_referral(server: str) -> None:
    texts = [m["text"] for m in rest(server, "rest-dose", "is 4.5 ok?")]
    assert "doctor" in texts[-1]


def test_no_http_api_and_no_version_banner(server: str) -> None:
    for path, method in [("/model", "PUT"), ("/status", "GET"), ("/version", "GET")]:
        request = urllib.request.Request(
            f"{server}{path}", method=method, data=b"" if method == "PUT" else None
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=5)
        assert error.value.code in (404, 405)
    with urllib.request.urlopen(f"{server}/config.js", timeout=5) as reply:
        assert b"Rasa" not in reply.read()
    status, _, page = http(f"{server}/")
    assert status == 200 and b"Hello from Rasa" not in page


@pytest.mark.parametrize("body", MALFORMED_REST_BODIES.values(), ids=MALFORMED_REST_BODIES.keys())
def test_malformed_rest_requests_get_a_400_with_a_json_reason(server: str, body: bytes) -> None:
    status, headers, answer = rest_post(server, body)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert json.loads(answer)["error"]


def test_an_empty_rest_message_is_passed_on_and_answered(server: str) -> None:
    status, _, answer = rest_post(server, json.dumps({"sender": "empty", "message": ""}).encode())
    assert status == 200 and [m["text"] for m in json.loads(answer) if "text" in m]


def test_other_sites_get_no_cors_by_default(server: str) -> None:
    body = json.dumps({"sender": "cors-default", "message": "hello"}).encode()
    status, headers, _ = rest_post(server, body, Origin=FOREIGN)
    assert status == 200 and "access-control-allow-origin" not in headers
    for path in ("/webhooks/rest/webhook", "/api/feedback"):
        assert "access-control-allow-origin" not in preflight(server, path, FOREIGN)


def test_socketio_accepts_only_its_own_origin_by_default(server: str) -> None:
    assert socketio_handshake(server, FOREIGN) == 400
    assert not websocket_opens(server, FOREIGN)
    assert socketio_handshake(server, server) == 200  # the page's own origin
    assert socketio_handshake(server, None) == 200  # not a browser: nothing to check


def test_feedback_is_tied_to_the_ledger_row_of_its_answer(server: str, serve_var: Path) -> None:
    def post(body: bytes) -> int:
        headers = {"Content-Type": "application/json", "Origin": server}
        request = urllib.request.Request(f"{server}/api/feedback", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

    # disclaimer, answer with its source
    session, _ = asyncio.run(socket_transcript(server, ["what is naltrexone approved for?"]))
    vote = {"session_id": session, "bot_index": 1, "vote": "down"}
    assert post(json.dumps(vote).encode()) == 204
    assert post(b'{"vote": "sideways"}') == 400
    assert post(json.dumps({**vote, "bot_index": -1}).encode()) == 400
    assert post(b"\xff\xfe not json") == 400

    salt = os.environ.get("LDN_BOT_SALT") or (serve_var / "salt").read_text().strip()
    sender = sender_hash(f"socketio:{session.split('.')[0]}", salt)
    db = sqlite3.connect(serve_var / "conversations.sqlite")
    [(vote_turn, value)] = db.execute(
        "SELECT turn_id, vote FROM ledger_votes WHERE sender_hash = ?", (sender,)
    ).fetchall()
    route, intent = db.execute(
        "SELECT route, intent FROM ledger_turns WHERE id = ?", (vote_turn,)
    ).fetchone()
    assert (value, route, intent) == ("down", "article_answer", "ask_fda_approval")


def test_health_reports_the_ledger(server: str) -> None:
    with urllib.request.urlopen(f"{server}/health", timeout=5) as reply:
        health = json.loads(reply.read())
    assert health["status"] == "ok"
    assert health["ledger"]["failures"] == 0 and health["ledger"]["written"] >= 1


def test_typed_rasa_default_intents_are_answered_and_never_rewind(
    server: str, serve_var: Path
) -> None:
    """`/back` got no reply and Rasa's action_back rewound the stored conversation (F6)."""
    from rasa.shared.core.constants import DEFAULT_INTENTS

    sender = f"typed-intents-{os.getpid()}"
    assert "source" in json.dumps(rest(server, sender, "what is naltrexone approved for?")).lower()
    silent = []
    for intent in DEFAULT_INTENTS:
        for typed in (f"/{intent}", f" //{intent}"):
            if not any(reply.get("text") for reply in rest(server, sender, typed)):
                silent.append(typed)
    assert silent == []
    assert rest(server, sender, "/ask_sources")  # our buttons' own payloads still work
    db = sqlite3.connect(serve_var / "conversations.sqlite")
    types = {
        row[0]
        for row in db.execute(
            "SELECT type_name FROM events WHERE sender_id = ?", (f"rest:{sender}",)
        )
    }
    assert types and not types & {"rewind", "undo", "restart", "reset_slots", "export"}
    intents = {
        row[0]
        for row in db.execute(
            "SELECT intent_name FROM events WHERE sender_id = ? AND type_name = 'user'",
            (f"rest:{sender}",),
        )
    }
    assert not intents & {"back", "restart", "session_start"}
    print(f"\n{2 * len(DEFAULT_INTENTS)} typed default intents, {len(silent)} unanswered")


def test_socketio_events_without_data_raise_nothing_in_the_server(
    server: str, serve_var: Path
) -> None:
    """`session_request` and `user_uttered` emitted with no data argument raised TypeError
    in both handlers ("Task exception was never retrieved") (F11)."""
    log = serve_var / "serve.log"
    start = log.stat().st_size

    async def scenario() -> str:
        client = socketio.AsyncClient()
        confirmed: asyncio.Queue[str] = asyncio.Queue()
        client.on("session_confirm", confirmed.put)
        await client.connect(server, socketio_path="/socket.io", transports=["polling"])
        await client.emit("user_uttered")  # no session: ignored
        await client.emit("session_request")  # a fresh session all the same
        session = await asyncio.wait_for(confirmed.get(), 10)
        await client.disconnect()
        return session

    assert asyncio.run(scenario())
    time.sleep(1)
    with open(log, "rb") as file:
        file.seek(start)
        written = file.read().decode(errors="replace")
    assert "Task exception" not in written and "TypeError" not in written


def _files_holding(var: Path, secret: str) -> list[str]:
    return sorted(
        str(path.relative_to(var))
        for path in var.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    )


def test_forgotten_text_stays_in_no_file_under_var_while_serve_runs(
    cfg: Settings, server: str, serve_var: Path
) -> None:
    """After `forget`, the text stayed in conversations.sqlite-wal until the running
    server's next checkpoint (F5)."""
    sender, secret = f"forget-me-{os.getpid()}", f"zebrafinch{os.getpid()}"
    rest(server, sender, f"is {secret} in the article?")
    time.sleep(1)  # the ledger row is written in the background
    assert _files_holding(serve_var, secret)  # the WAL (and the ledger) hold it now
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "forget", f"rest:{sender}"],
        cwd=cfg.root,
        env={**os.environ, "LDN_BOT_VAR": str(serve_var)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "Forgot" in result.stdout, result.stderr[-2000:]
    assert _files_holding(serve_var, secret) == []
    assert rest(server, "after-forget", "what is LDN?")  # the server goes on


def test_files_under_var_are_private_to_their_user(server: str, serve_var: Path) -> None:
    """conversations.sqlite (+ -wal/-shm) and the logs were created 0644 (F10)."""
    rest(server, f"private-{os.getpid()}", "what is LDN?")
    modes = {
        str(path.relative_to(serve_var)): oct(path.stat().st_mode & 0o777)
        for path in serve_var.rglob("*")
        if path.name != "serve.log"  # the test harness's own file
    }
    assert "conversations.sqlite" in modes
    assert {name: mode for name, mode in modes.items() if mode not in ("0o600", "0o700")} == {}
    folders = [path for path in serve_var.rglob("*") if path.is_dir()]
    assert all(oct(path.stat().st_mode & 0o777) == "0o700" for path in folders)


def _answer(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, Any, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_a_static_name_over_255_characters_is_a_404_without_a_traceback(
    server: str, serve_var: Path
) -> None:
    """/static/<300 characters> gave a 500 and a 10 KB traceback in the log (F8)."""
    log = serve_var / "serve.log"
    start = log.stat().st_size
    for name in ("a" * 300, "a/" * 2100 + "b", "%e2%82%ac" * 100):
        status, _, _ = _answer(f"{server}/static/{name}")
        assert status == 404
    with open(log, "rb") as file:
        file.seek(start)
        assert b"Traceback" not in file.read()


def test_every_answer_carries_the_security_headers(server: str) -> None:
    """No CSP, nosniff, frame or referrer policy on any answer, and HEAD / was a 405 (F9)."""
    rest_body = json.dumps({"sender": "headers", "message": "hi"}).encode()
    answers = {
        "/": _answer(f"{server}/"),
        "HEAD /": _answer(f"{server}/", "HEAD"),
        "/static/app.js": _answer(f"{server}/static/app.js"),
        "/static/missing.js": _answer(f"{server}/static/missing.js"),
        "/health": _answer(f"{server}/health"),
        "REST": _answer(f"{server}/webhooks/rest/webhook", "POST", rest_body),
        "socket.io": _answer(f"{server}/socket.io/?EIO=4&transport=polling"),
    }
    assert answers["HEAD /"][0] == 200 and answers["HEAD /"][2] == b""
    for name, (_, headers, _) in answers.items():
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "no-referrer", name
        assert headers["X-Frame-Options"] == "DENY", name
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, name
        assert "script-src 'self';" in policy and "unsafe-eval" not in policy, name
