"""Requests from other sites (issue 12, item 5): only this server's host names are
served, on every route, and an open REST channel behind a proxy for a public name needs
its token.

The server here (the `access` fixture) has a REST token, the read-only API with a JWT
secret, and one more host name; checks that need no settings use the shared `server`
fixture. The figures go to reports/access.json.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from access_server import FIGURES, OTHER_HOST, Served
from http_probes import http, rest_post
from serving import serving

from ldn_bot.settings import Settings

pytestmark = pytest.mark.usefixtures("access_figures")


@pytest.mark.model
@pytest.mark.parametrize(
    "path", ["/", "/health", "/config.js", "/static/app.js", "/socket.io/?EIO=4&transport=polling"]
)
def test_a_foreign_host_header_is_refused(server: str, path: str) -> None:
    status, _, answer = http(f"{server}{path}", headers={"Host": "rebound.evil.example"})
    assert status == 421 and b"allowed-host" in answer
    FIGURES["foreign_host_requests_refused_421"] += 1
    port = server.rsplit(":", 1)[1]
    assert http(f"{server}{path}", headers={"Host": f"localhost:{port}"})[0] == 200


@pytest.mark.model
def test_a_foreign_host_header_is_refused_on_posts_too(server: str) -> None:
    body = json.dumps({"sender": "rebound", "message": "hello"}).encode()
    evil = {"Host": "rebound.evil.example"}
    assert rest_post(server, body, **evil)[0] == 421
    for path in ("/api/feedback", "/webhooks/slack/webhook"):
        headers = {"Content-Type": "application/json", **evil}
        assert http(f"{server}{path}", method="POST", body=b"{}", headers=headers)[0] == 421


@pytest.mark.model
def test_a_foreign_host_header_cannot_open_a_websocket(server: str) -> None:
    async def opens(host: str) -> bool:
        ws_url = server.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(ws_url, headers={"Host": host}, timeout=10):
                    return True
            except aiohttp.WSServerHandshakeError as error:
                assert error.status == 421
                return False

    port = server.rsplit(":", 1)[1]
    assert not asyncio.run(opens(f"rebound.evil.example:{port}"))
    assert asyncio.run(opens(f"127.0.0.1:{port}"))


@pytest.mark.model
def test_an_allowed_host_name_is_served(access: Served) -> None:
    assert http(f"{access.url}/", headers={"Host": OTHER_HOST})[0] == 200
    assert http(f"{access.url}/", headers={"Host": "evil.example"})[0] == 421
    # A proxy's X-Forwarded-Host is not trusted.
    forwarded = {"Host": "evil.example", "X-Forwarded-Host": OTHER_HOST}
    assert http(f"{access.url}/", headers=forwarded)[0] == 421
    log = (access.var / "serve.log").read_text()
    assert "Hosts: 127.0.0.1:" in log and OTHER_HOST in log


@pytest.mark.model
def test_open_rest_behind_a_proxy_for_a_public_name_needs_the_token(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """A loopback server behind a reverse proxy for bot.example is reached from anywhere:
    without LDN_BOT_REST_TOKEN, REST answers only requests addressed to a loopback name."""
    body = json.dumps({"sender": "proxied", "message": "what is ldn?"}).encode()
    with serving(cfg, tmp_path, {}, args=["--public-url", f"https://{OTHER_HOST}"]) as url:
        status, _, answer = rest_post(url, body, Host=OTHER_HOST)
        assert status == 403 and b"LDN_BOT_REST_TOKEN" in answer
        port = url.rsplit(":", 1)[1]
        assert rest_post(url, body, Host=f"localhost:{port}")[0] == 200
        assert http(f"{url}/", headers={"Host": OTHER_HOST})[0] == 200  # the page still is
