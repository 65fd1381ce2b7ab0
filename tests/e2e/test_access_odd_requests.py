"""The odd requests that used to get a 500 (issue 12, item 8, and a later pass): JWTs
with `alg=none` or a `user` claim that is not an object, `/model/parse` bodies that are
not text, odd static paths, REST bodies under another content type.

The server here (the `access` fixture) has a REST token, the read-only API with a JWT
secret, and one more host name; checks that need no settings use the shared `server`
fixture. The figures go to reports/access.json.
"""

from __future__ import annotations

import json
import time
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from access_server import API_TOKEN, FIGURES, JWT_SECRET, Served
from http_probes import http, rest_post

pytestmark = pytest.mark.usefixtures("access_figures")


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
