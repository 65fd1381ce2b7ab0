"""Access rules without a server (issue 12, items 3, 4 and 5): signed socket.io session
ids, the ids `forget` reaches, only this server's host names, and the vote bodies refused.
The same rules against a running `ldn-bot serve` are in tests/e2e/test_access_*.py.
"""

from __future__ import annotations

import pytest
from http_probes import MALFORMED_VOTES

from ldn_bot.exposure import ExposureError, allowed_host, exposure_from
from ldn_bot.feedback import FeedbackError, parse_feedback
from ldn_bot.senders import SessionSigner, person_ids


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


@pytest.mark.parametrize("body", MALFORMED_VOTES.values(), ids=MALFORMED_VOTES.keys())
def test_malformed_votes_are_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(FeedbackError, match=r"expected|must|not"):
        parse_feedback(body)
