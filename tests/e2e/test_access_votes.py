"""Votes (issue 12, item 4): only from this server's page, on the caller's own answers,
one per message, and a 400 (never a 500) for anything malformed.

The server here (the `access` fixture) has a REST token, the read-only API with a JWT
secret, and one more host name. The figures go to reports/access.json.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from access_server import FIGURES, NOTED_QUESTION, SALT, Served, WebClient
from http_probes import FOREIGN, MALFORMED_VOTES, http, page_post

from ldn_bot.senders import SessionSigner

pytestmark = pytest.mark.usefixtures("access_figures")


def _web_conversation(url: str) -> tuple[str, int]:
    """A new web conversation with one article answer: its session id and bubble count."""

    async def run() -> tuple[str, int]:
        web = WebClient(url)
        session = await web.session(None)
        heard = await web.say(session, NOTED_QUESTION, replies=3)
        await web.close()
        return session, len(heard)

    return asyncio.run(run())


def vote(url: str, body: Any, **options: Any) -> tuple[int, Any]:
    return page_post(url, "/api/feedback", body, **options)


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
