"""Proof that an action call comes from our Rasa and its answer from our action server.

`ldn-bot serve` makes a fresh random secret at every start and hands it to its action
server through the environment (argv is visible in `ps`). The secret itself never goes
over the wire: each call carries a random nonce and an HMAC of the nonce and the body;
the action server answers with an HMAC of the same nonce and its own body. A process
that takes the action port (after a crash, say) learns nothing it could answer with, and
whatever it answers fails the check: its text never reaches a user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_ENV = "LDN_BOT_ACTION_SECRET"
NONCE_HEADER = "X-Ldn-Bot-Nonce"
REQUEST_MAC_HEADER = "X-Ldn-Bot-Request-Mac"
RESPONSE_MAC_HEADER = "X-Ldn-Bot-Response-Mac"

# The largest real action call is a tracker whose 60-event window is full of the longest
# messages, in the characters that cost most: 2,000 emoji each, 677 KB as sent (UTF-8;
# each user event carries its text and a token list; measured by
# `tests/e2e/test_lifecycle_action_calls.py`). Ordinary turns are a few KB. 4 MB leaves a
# margin of six and refuses the 20 MB bodies that were accepted.
MAX_ACTION_BODY_BYTES = 4 * 1024 * 1024

# The exit code of an action server whose port another program holds.
EXIT_PORT_IN_USE = 3


def new_secret() -> str:
    """A fresh random secret, made at every start of serve."""
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    """A fresh random nonce, one per signed call."""
    return secrets.token_urlsafe(16)


def _mac(secret: str, kind: bytes, nonce: str, body: bytes) -> str:
    message = kind + b"\0" + nonce.encode() + b"\0" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_mac(secret: str, nonce: str, body: bytes) -> str:
    """The signature of an action call's body, for the action server to check."""
    return _mac(secret, b"ldn-bot action request", nonce, body)


def response_mac(secret: str, nonce: str, body: bytes) -> str:
    """The signature of an action answer's body, for Rasa to check."""
    return _mac(secret, b"ldn-bot action response", nonce, body)


def health_mac(secret: str, nonce: str, body: bytes) -> str:
    """The signature of a /health answer: its own label, never an action answer's.

    /health is open (the supervisor calls it to tell its child from a squatter), so it
    signs whatever nonce any local caller sends. Signed like action answers, it was a
    signing oracle: ask /health with the nonce of a Rasa call you intercepted, get a
    signature that Rasa accepts as the action server's answer to that call (the health
    body in place of events). Under its own label the same signature can never be valid
    for an action answer, whatever nonce the caller picks.
    """
    return _mac(secret, b"ldn-bot health", nonce, body)


def valid_health(secret: str, nonce: str, mac: str | None, body: bytes) -> bool:
    """Whether a /health answer to `nonce` was signed with `secret`."""
    if not mac:
        return False
    return hmac.compare_digest(health_mac(secret, nonce, body), mac)


def valid_request(secret: str, nonce: str | None, mac: str | None, body: bytes) -> bool:
    """Whether a call was signed with `secret` (constant-time comparison)."""
    if not nonce or not mac:
        return False
    return hmac.compare_digest(request_mac(secret, nonce, body), mac)


def valid_response(secret: str, nonce: str, mac: str | None, body: bytes) -> bool:
    """Whether an answer to the call with `nonce` was signed with `secret`."""
    if not mac:
        return False
    return hmac.compare_digest(response_mac(secret, nonce, body), mac)
