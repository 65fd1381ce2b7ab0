"""Headers and checks every answer of `serve` gets: allowed hosts, content policy, origins."""

from __future__ import annotations

import re
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ldn_bot.exposure import Exposure

MISDIRECTED_REQUEST = 421
# A Host header that may go into the Content-Security-Policy as it is.
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def add_security(app: Sanic, exposure: Exposure) -> None:
    """Refuse requests for other hosts (421) and add `add_security_headers` to answers."""

    @app.on_request
    async def check_host(request: Request) -> HTTPResponse | None:
        """Every route, socket.io and Slack included: only this server's host names.
        X-Forwarded-Host is not read (a proxy must pass the Host it was asked for)."""
        if exposure.host_allowed(request.headers.get("host")):
            return None
        return response.json(
            {
                "error": "this server does not answer for that Host header: start it with "
                "--allowed-host NAME (or --public-url) for the names clients use"
            },
            status=MISDIRECTED_REQUEST,
        )

    @app.on_response
    async def security_headers(request: Request, answer: HTTPResponse) -> None:
        """Every answer: no MIME sniffing, no Referer, never inside another site's frame,
        and a content policy the page satisfies (`content_policy`)."""
        add_security_headers(answer.headers, request.headers.get("host"))


def content_policy(host: str | None) -> str:
    """The page's Content-Security-Policy: its own scripts, styles, images and fonts only,
    requests (socket.io polling, feedback) and the socket.io WebSocket to this host only,
    never framed. Styles allow 'unsafe-inline': the widget (rasa-webchat's style-loader)
    injects its CSS as <style> elements, with its icon font as a data: URL. No
    'unsafe-eval', no inline scripts."""
    sockets = f" ws://{host} wss://{host}" if host and _PLAIN_HOST.fullmatch(host) else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; font-src 'self' data:; connect-src 'self'{sockets}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def add_security_headers(headers: Any, host: str | None) -> None:
    """The headers every answer of serve carries (unless its route set them)."""
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", content_policy(host)),
    ):
        if name not in headers:
            headers[name] = value
