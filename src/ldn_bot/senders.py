"""Who a conversation belongs to: sender namespaces per channel and signed web sessions.

Every channel of `ldn-bot serve` stores its conversations under `<channel>:<id>`
(`rest:alice`, `socketio:<session>`, `slack:U123_C456`), so an id sent on one channel can
never name a conversation of another: a REST caller sending `"sender": "U123_C456"`
writes to `rest:U123_C456`, not to that Slack user's conversation. The in-process
`ldn-bot ask` and `chat` keep their own ids (`ask-...`, `chat-...`, or `--session`).

The web widget's session ids are issued by the server and signed (`<random>.<mac>`, an
HMAC with a key derived from the ledger salt): a browser keeps its id across reloads, and
an id it did not get from the server (guessed, forged, another person's conversation
name) is replaced by a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

CHANNELS = ("rest", "socketio", "slack")
SEPARATOR = ":"
SESSION_PATTERN = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{32})")
SESSION_KEY_LABEL = b"ldn-bot socket.io session v1"


def namespaced(channel: str, sender_id: str) -> str:
    """The stored sender id of `sender_id` on `channel` (`rest:alice`)."""
    return f"{channel}{SEPARATOR}{sender_id}"


def bare(channel: str, sender_id: str) -> str:
    """`sender_id` without `channel`'s prefix (as the channel's own client knows it)."""
    prefix = namespaced(channel, "")
    return sender_id[len(prefix) :] if sender_id.startswith(prefix) else sender_id


@dataclass(frozen=True)
class PersonIds:
    """The stored sender ids `ldn-bot forget ID` deletes.

    Attributes:
        exact: sender ids matched exactly.
        prefixes: sender id prefixes (a Slack user's conversations are `slack:USER_CHANNEL`).
    """

    exact: tuple[str, ...]
    prefixes: tuple[str, ...]


def person_ids(person: str) -> PersonIds:
    """What `forget` matches for `person`.

    A namespaced id (`rest:alice`, `socketio:<session>`, `slack:U123`) names that channel
    only; a bare id (`alice`, `U123`) names it on every channel and as stored before
    namespaces (and by `ldn-bot ask --session`). A Slack user id also names every
    conversation of that user (`slack:U123_<channel>`). A signed web session id
    (`<random>.<mac>`, what the browser keeps) names its conversation.
    """
    channel, _, rest = person.partition(SEPARATOR)
    if channel in CHANNELS and rest:
        ids = [rest]
        channels: tuple[str, ...] = (channel,)
        legacy: list[str] = []
    else:
        ids = [person]
        channels = CHANNELS
        legacy = [person]
    if match := SESSION_PATTERN.fullmatch(ids[0]):
        ids.append(match.group(1))
    exact = [*legacy, *(namespaced(c, i) for c in channels for i in ids)]
    prefixes = [namespaced("slack", ids[0]) + "_"] if "slack" in channels else []
    if legacy:
        prefixes.append(person + "_")  # Slack conversations stored before namespaces
    return PersonIds(tuple(dict.fromkeys(exact)), tuple(prefixes))


class SessionSigner:
    """Issues and checks the web widget's session ids (`<32 hex>.<32 hex HMAC-SHA256>`)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a session signer needs a secret")
        self._key = hmac.new(secret.encode(), SESSION_KEY_LABEL, hashlib.sha256).digest()

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        """A fresh signed session id."""
        nonce = secrets.token_hex(16)
        return f"{nonce}.{self._mac(nonce)}"

    def verify(self, session_id: object) -> str | None:
        """The conversation id (the random part) of a session id this server signed, or
        None for anything else (not a string, malformed, forged)."""
        if not isinstance(session_id, str):
            return None
        match = SESSION_PATTERN.fullmatch(session_id)
        if match is None:
            return None
        nonce, mac = match.groups()
        return nonce if hmac.compare_digest(mac, self._mac(nonce)) else None
