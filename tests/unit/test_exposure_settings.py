"""What `ldn-bot serve` may expose, decided before anything starts: the HTTP API (off;
read-only with a token), CORS (only configured origins), REST (loopback only, or with a
bearer token), the REST bodies refused, and serve's one-line refusal of unsafe settings.
The running servers are in tests/e2e/test_exposure.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from http_probes import MALFORMED_REST_BODIES
from serving import without_exposure_variables

from ldn_bot.exposure import (
    ExposureError,
    RestAccess,
    bearer_matches,
    exposure_from,
    is_loopback,
    web_origin,
)
from ldn_bot.rest_request import MAX_SENDER_LENGTH, RestRequestError, parse_rest_request
from ldn_bot.settings import Settings

API_TOKEN = "api-token-0123456789abcdef"
JWT_SECRET = "jwt-secret-0123456789abcdef"
REST_TOKEN = "rest-token-0123456789abcdef"
CLINIC = "https://clinic.example"

# --- settings -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "bot.example.org"])
def test_anything_else_is_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_rest_is_open_on_loopback_off_elsewhere_and_needs_the_token_once_set() -> None:
    def rest(host: str, token: str | None = None) -> RestAccess:
        return exposure_from(host=host, environ={}, rest_token=token).rest

    assert rest("127.0.0.1") is RestAccess.OPEN
    assert rest("0.0.0.0") is RestAccess.OFF
    assert rest("0.0.0.0", REST_TOKEN) is RestAccess.TOKEN
    assert rest("127.0.0.1", REST_TOKEN) is RestAccess.TOKEN
    from_env = exposure_from(host="0.0.0.0", environ={"LDN_BOT_REST_TOKEN": REST_TOKEN})
    assert from_env.rest is RestAccess.TOKEN and from_env.rest_token == REST_TOKEN


def test_the_api_is_off_by_default_even_with_a_token() -> None:
    assert exposure_from(host="127.0.0.1", environ={"LDN_BOT_API_TOKEN": API_TOKEN}).api is None


@pytest.mark.parametrize(
    ("options", "environ"),
    [({"enable_api": True}, {}), ({}, {"LDN_BOT_API": "1"}), ({}, {"LDN_BOT_API": "true"})],
)
def test_the_api_without_a_token_or_jwt_secret_is_refused(
    options: dict[str, Any], environ: dict[str, str]
) -> None:
    with pytest.raises(ExposureError, match="LDN_BOT_API_TOKEN"):
        exposure_from(host="127.0.0.1", environ=environ, **options)


def test_the_api_with_a_token_or_a_jwt_secret() -> None:
    with_token = exposure_from(host="127.0.0.1", environ={}, enable_api=True, api_token=API_TOKEN)
    assert with_token.api is not None and with_token.api.token == API_TOKEN
    with_jwt = exposure_from(
        host="127.0.0.1", environ={"LDN_BOT_API": "1", "LDN_BOT_API_JWT_SECRET": JWT_SECRET}
    )
    assert with_jwt.api is not None and with_jwt.api.jwt_secret == JWT_SECRET


@pytest.mark.parametrize(
    "variable", ["LDN_BOT_API_TOKEN", "LDN_BOT_API_JWT_SECRET", "LDN_BOT_REST_TOKEN"]
)
def test_short_secrets_are_refused(variable: str) -> None:
    with pytest.raises(ExposureError, match=f"{variable} is too short"):
        exposure_from(host="127.0.0.1", environ={variable: "secret", "LDN_BOT_API": "1"})


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://clinic.example", CLINIC),
        ("https://Clinic.Example/", CLINIC),
        ("https://clinic.example:443", CLINIC),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_cors_origins_are_written_as_browsers_send_them(given: str, origin: str) -> None:
    assert web_origin(given) == origin


@pytest.mark.parametrize(
    "given",
    [
        "*",
        "https://*.example",
        "clinic.example",
        "https://clinic.example/chat",
        "https://clinic.example?x=1",
        "https://user@clinic.example",
        "ftp://clinic.example",
        "https://clinic.example:port",
    ],
)
def test_anything_but_a_plain_web_origin_is_refused(given: str) -> None:
    with pytest.raises(ExposureError, match="CORS origin"):
        web_origin(given)


def test_cors_origins_from_the_environment_unless_given() -> None:
    environ = {"LDN_BOT_CORS_ORIGINS": f" {CLINIC}, http://localhost:3000 ,"}
    assert exposure_from(host="127.0.0.1", environ=environ).cors_origins == (
        CLINIC,
        "http://localhost:3000",
    )
    given = exposure_from(host="127.0.0.1", environ=environ, cors_origins=["https://b.example"])
    assert given.cors_origins == ("https://b.example",)
    assert exposure_from(host="127.0.0.1", environ={}).cors_origins == ()


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (f"Bearer {REST_TOKEN}", True),
        (f"Bearer {REST_TOKEN}x", False),
        (f"bearer{REST_TOKEN}", False),
        (REST_TOKEN, False),
        ("", False),
        (None, False),
        ("Bearer ünïcode", False),
    ],
)
def test_bearer_tokens(header: str | None, matches: bool) -> None:
    assert bearer_matches(header, REST_TOKEN) is matches


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--enable-api"], "the HTTP API needs a token"),
        (["--enable-api", "--api-token", "short"], "LDN_BOT_API_TOKEN is too short"),
        (["--cors-origin", "*"], "CORS origin '*'"),
        (["--rest-token", "short"], "LDN_BOT_REST_TOKEN is too short"),
    ],
)
def test_serve_with_unsafe_exposure_exits_with_a_message_not_a_traceback(
    cfg: Settings, args: list[str], says: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "serve", "--port", "1", *args],
        cwd=cfg.root,
        env=without_exposure_variables(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Trained" not in result.stdout + result.stderr  # stopped before training


# --- REST request bodies ----------------------------------------------------------------


@pytest.mark.parametrize("body", MALFORMED_REST_BODIES.values(), ids=MALFORMED_REST_BODIES.keys())
def test_malformed_rest_bodies_are_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(RestRequestError, match=r"sender|message|metadata|JSON|UTF-8"):
        parse_rest_request(body)


def test_a_rest_body_keeps_only_what_rasa_should_read() -> None:
    body = {
        "sender": "x" * MAX_SENDER_LENGTH,
        "message": "",
        "metadata": {"k": 1},
        "input_channel": "slack",
    }
    checked = parse_rest_request(json.dumps(body).encode())
    assert checked.as_json() == {
        "sender": "x" * MAX_SENDER_LENGTH,
        "message": "",
        "metadata": {"k": 1},
    }
