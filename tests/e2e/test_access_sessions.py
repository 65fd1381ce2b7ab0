"""Access between users (issue 12, item 3): each channel's conversations in their own
namespace, and server-signed socket.io sessions.

The server here (the `access` fixture) has a REST token, the read-only API with a JWT
secret, and one more host name; checks that need no settings use the shared `server`
fixture. The figures go to reports/access.json.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from access_server import FIGURES, QUESTION, SALT, SCALE, Served, WebClient, rest, user_texts
from http_probes import rest_post

from ldn_bot.senders import SessionSigner

pytestmark = pytest.mark.usefixtures("access_figures")


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


@pytest.mark.model
def test_rest_replies_name_the_sender_as_sent(server: str) -> None:
    body = json.dumps({"sender": "as-sent", "message": "hello"}).encode()
    status, _, answer = rest_post(server, body)
    assert status == 200
    assert {m["recipient_id"] for m in json.loads(answer)} == {"as-sent"}  # not rest:as-sent
