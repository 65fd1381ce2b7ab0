"""The "Delete this conversation" request (`POST /api/forget`): the page's own session only.

It is `ldn-bot forget` for one signed socket.io session: its events, ledger rows and
votes go; another session's stay; a forged or foreign id, another site's page, a body
that is not JSON are refused with nothing deleted, and nothing answers 500.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import test_channels
from http_probes import FOREIGN, http, page_post

from ldn_bot.feedback import FeedbackError, parse_forget
from ldn_bot.ledger.store import sender_hash
from ldn_bot.senders import SessionSigner

QUESTION = "what is naltrexone approved for?"  # disclaimer, answer, source


def forget(url: str, body: Any, **options: Any) -> tuple[int, Any]:
    return page_post(url, "/api/forget", body, **options)


def stored(var: Path, session: str) -> dict[str, int]:
    """What the server's database holds for the web session `session`."""
    sender = f"socketio:{session.split('.')[0]}"
    salt = os.environ.get("LDN_BOT_SALT") or (var / "salt").read_text().strip()
    hashed = sender_hash(sender, salt)
    with sqlite3.connect(var / "conversations.sqlite") as db:
        events = db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,))
        turns = db.execute("SELECT COUNT(*) FROM ledger_turns WHERE sender_hash = ?", (hashed,))
        votes = db.execute("SELECT COUNT(*) FROM ledger_votes WHERE sender_hash = ?", (hashed,))
        return {
            "events": events.fetchone()[0],
            "turns": turns.fetchone()[0],
            "votes": votes.fetchone()[0],
        }


def web_conversation(url: str) -> str:
    """A new web conversation with one article answer and a vote on it: its session id."""
    session, _ = asyncio.run(test_channels.socket_transcript(url, [QUESTION]))
    vote = {"session_id": session, "bot_index": 1, "vote": "up"}
    status, _, _ = http(
        f"{url}/api/feedback",
        method="POST",
        body=json.dumps(vote).encode(),
        headers={"Content-Type": "application/json", "Origin": url},
    )
    assert status == 204
    return session


def test_the_body_of_a_delete_request_is_checked_before_anything_is_looked_up() -> None:
    assert parse_forget(b'{"session_id": "abc.def"}') == "abc.def"
    for body in (
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'"abc"',
        b"{}",
        b'{"session_id": 5}',
        b'{"session_id": ""}',
        b'{"session_id": "a\\nb"}',
        b'{"session_id": "\\ud800"}',
        json.dumps({"session_id": "x" * 129}).encode(),
        b"[" * 100_000,
    ):
        with pytest.raises(FeedbackError):
            parse_forget(body)


@pytest.mark.model
def test_delete_this_conversation_removes_only_the_callers_session(
    server: str, serve_var: Path
) -> None:
    mine = web_conversation(server)
    other = web_conversation(server)
    kept = stored(serve_var, other)
    assert all(kept.values()), kept
    status, answer = forget(server, {"session_id": mine})
    assert status == 200, answer
    deleted = answer["deleted"]
    assert deleted["events"] > 0 and deleted["turns"] > 0 and deleted["votes"] == 1
    assert stored(serve_var, mine) == {"events": 0, "turns": 0, "votes": 0}
    assert stored(serve_var, other) == kept
    # Again: nothing left, still a plain answer.
    status, answer = forget(server, {"session_id": mine})
    assert status == 200 and answer["deleted"]["events"] == 0


@pytest.mark.model
def test_a_forged_or_foreign_delete_request_deletes_nothing(server: str, serve_var: Path) -> None:
    session = web_conversation(server)
    before = stored(serve_var, session)
    nonce = session.split(".")[0]
    refused = {
        "another server's session": (403, {"session_id": SessionSigner("another-salt").issue()}),
        "well-formed, wrong MAC": (403, {"session_id": nonce + "." + "0" * 32}),
        "the bare conversation id": (403, {"session_id": nonce}),
        "a REST sender": (403, {"session_id": "rest:alice"}),
        "a Slack user": (403, {"session_id": "U0123ABCD"}),
        "no session": (400, {}),
        "not an object": (400, [session]),
        "not JSON": (400, b"session_id=" + session.encode()),
        "not UTF-8": (400, b"\xff\xfe"),
    }
    for name, (expected, body) in refused.items():
        status, _ = forget(server, body)
        assert status == expected, (name, status)
    body = {"session_id": session}
    assert forget(server, body, origin=FOREIGN)[0] == 403
    assert forget(server, body, origin=None)[0] == 403  # browsers always send one
    assert forget(server, body, origin="null")[0] == 403
    assert forget(server, body, origin=server.replace("http://", "https://"))[0] == 403
    # the cross-origin "simple request" a form or a text/plain fetch can send unasked
    assert forget(server, body, origin=FOREIGN, content_type="text/plain")[0] == 415
    assert forget(server, body, content_type="application/x-www-form-urlencoded")[0] == 415
    assert stored(serve_var, session) == before
    rebound = {"Content-Type": "application/json", "Host": "rebound.evil.example"}
    raw = json.dumps(body).encode()
    assert http(f"{server}/api/forget", method="POST", body=raw, headers=rebound)[0] == 421
    status, _, _ = http(f"{server}/api/forget")  # GET: not a way to delete
    assert status in (404, 405)
    assert stored(serve_var, session) == before
