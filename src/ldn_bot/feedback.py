"""The body of a `/api/feedback` vote, checked before anything is looked up.

A vote names a web session (the signed id the browser keeps), the index of a bot
bubble in it and "up" or "down". Anything else is a `FeedbackError` whose text says what
to send instead (answered with a 400): not UTF-8, not JSON, nested too deep, not an
object, an index that is not a plain integer (1e400, true, "2", a number of a thousand
digits), a session id with lone surrogates or control characters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ldn_bot.inputs import encodable

MAX_SESSION_ID_LENGTH = 128
MAX_BOT_INDEX = 100_000  # far more bubbles than a conversation has; fits every integer column
VOTES = ("up", "down")
EXPECTED = 'expected a JSON object like {"session_id": "...", "bot_index": 2, "vote": "up"}'


class FeedbackError(ValueError):
    """The body cannot be a vote: the text is the answer for the client."""


@dataclass(frozen=True)
class FeedbackRequest:
    """One vote, as sent: the session id is checked against its signature later."""

    session_id: str
    bot_index: int
    vote: str


def parse_feedback(body: bytes) -> FeedbackRequest:
    """The vote in `body`, or `FeedbackError` saying what is wrong with it."""
    data = _json_object(body, EXPECTED)
    session_id = _session_id(data, EXPECTED)
    bot_index, vote = data.get("bot_index"), data.get("vote")
    if type(bot_index) is not int or not 0 <= bot_index <= MAX_BOT_INDEX:
        raise FeedbackError(
            f'"bot_index" must be a whole number from 0 to {MAX_BOT_INDEX}: {EXPECTED}'
        )
    if vote not in VOTES:
        raise FeedbackError(f'"vote" must be "up" or "down": {EXPECTED}')
    return FeedbackRequest(session_id=session_id, bot_index=bot_index, vote=vote)


FORGET_EXPECTED = 'expected a JSON object like {"session_id": "..."}'


def parse_forget(body: bytes) -> str:
    """The session id of a "Delete this conversation" request in `body` (checked against
    its signature later), or `FeedbackError` saying what is wrong with the body."""
    return _session_id(_json_object(body, FORGET_EXPECTED), FORGET_EXPECTED)


def _json_object(body: bytes, expected: str) -> dict[str, Any]:
    """The body as a JSON object, or `FeedbackError` saying what is wrong with it."""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise FeedbackError(f"the body is not UTF-8: {expected}") from error
    except RecursionError as error:
        raise FeedbackError(f"the body is nested too deep: {expected}") from error
    except ValueError as error:  # not JSON, or an integer too long to convert
        raise FeedbackError(f"the body is not JSON (or holds a huge number): {expected}") from error
    if not isinstance(data, dict):
        raise FeedbackError(f"the body is JSON but not an object: {expected}")
    return data


def _session_id(data: dict[str, Any], expected: str) -> str:
    """The body's `session_id`: printable text this page could have been given."""
    session_id = data.get("session_id")
    if (
        not isinstance(session_id, str)
        or not 0 < len(session_id) <= MAX_SESSION_ID_LENGTH
        or not session_id.isprintable()
        or not encodable(session_id)
    ):
        raise FeedbackError(
            f'"session_id" must be the session id of this page (printable text of 1 to '
            f"{MAX_SESSION_ID_LENGTH} characters): {expected}"
        )
    return session_id
