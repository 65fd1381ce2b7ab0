"""Request heads Sanic 21.12 framed wrongly (outside attack pass, F1, F2, F7), against both
real servers: `ldn-bot serve` and the action server.

One `Content-Length: -1` froze either server at 100% CPU for good (serve: every channel
dead, SIGTERM ignored; the action server: every article question "can't answer" while
/health said ok). Smuggling shapes (a Transfer-Encoding next to a Content-Length, two
lengths, `Transfer-Encoding : chunked`, two Hosts) were served. Now each is answered 400
and its connection closed, before any body is read (`ldn_bot.http_framing`), and the
server goes on answering.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_probes import NEGATIVE, REST_BODY, SHAPES
from serving import Serve, running_serve

from ldn_bot import action_auth
from ldn_bot.settings import Settings
from rasa_project.action_process import ActionServer

# Long enough for a real answer (a REST turn), short enough to fail a hung server.
READ_SECONDS = 30.0
REST = "/webhooks/rest/webhook"


def _smuggled(port: int) -> bytes:
    """A whole second request, to hide in the first one's body."""
    return (
        f"POST {REST} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(REST_BODY)}\r\n\r\n"
    ).encode() + REST_BODY


def _request(port: int, headers: str, body: bytes, *, path: str = REST) -> bytes:
    body = body.replace(b"{smug}", _smuggled(port))
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{headers}\r\n\r\n"
    ).encode() + body


def exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    """Send `data` on a new connection; everything the server sent back, and whether it
    closed the connection (False: still open after `READ_SECONDS`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_SECONDS) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received, False
        except ConnectionResetError:
            pass
        return received, True


def statuses(received: bytes) -> list[int]:
    """The status code of every response in `received`."""
    return [int(part[:3]) for part in received.split(b"HTTP/1.1 ")[1:]]


def call(
    port: int, method: str, path: str, body: bytes = b"", *, secret: str | None = None
) -> tuple[int, bytes]:
    """An ordinary request on a new connection (signed for the action server when
    `secret` is given); status and body."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        nonce = action_auth.new_nonce()
        headers[action_auth.NONCE_HEADER] = nonce
        headers[action_auth.REQUEST_MAC_HEADER] = action_auth.request_mac(secret, nonce, body)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_SECONDS)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


# --- the real servers -----------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    """A running server to attack: its port, a path that takes a POST body, and how to
    check it still works."""

    name: str
    port: int
    path: str
    secret: str | None = None

    def still_works(self) -> None:
        status, body = call(self.port, "GET", "/health")
        assert status == 200, body
        if self.secret is None:  # serve: a REST message gets its answer
            status, body = call(self.port, "POST", REST, REST_BODY)
            assert status == 200, body
            assert json.loads(body), body
        else:  # the action server: a signed call is answered
            status, body = call(self.port, "GET", "/actions", secret=self.secret)
            assert status == 200, body
            assert {"name": "action_answer_article"} in json.loads(body)


@pytest.fixture(scope="module")
def serve(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Serve]:
    with running_serve(cfg, tmp_path_factory.mktemp("http-serve"), {}) as running:
        yield running


@pytest.fixture(scope="module")
def action_server(
    cfg: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ActionServer]:
    var = dataclasses.replace(cfg, var_dir=tmp_path_factory.mktemp("http-actions"))
    with ActionServer(var) as server:
        yield server


@pytest.fixture(params=["serve", "action server"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "serve":
        serve: Serve = request.getfixturevalue("serve")
        return Target("serve", serve.port, REST)
    actions: ActionServer = request.getfixturevalue("action_server")
    return Target("action server", actions.port, "/webhook", actions.secret)


def test_a_negative_content_length_gets_400_and_the_server_keeps_answering(
    target: Target,
) -> None:
    headers, body = NEGATIVE
    received, closed = exchange(target.port, _request(target.port, headers, body, path=target.path))
    assert statuses(received) == [400], received[:300]
    assert closed
    target.still_works()
    # Also with a foreign Host and nothing else (the attack pass's exact request).
    bare = f"POST {target.path} HTTP/1.1\r\nHost: evil.example\r\nContent-Length: -1\r\n\r\n{{}}"
    received, closed = exchange(target.port, bare.encode())
    assert statuses(received) == [400], received[:300]
    assert closed
    target.still_works()


@pytest.mark.parametrize("shape", SHAPES)
def test_request_smuggling_shapes_get_400(target: Target, shape: str) -> None:
    headers, body = SHAPES[shape]
    received, closed = exchange(target.port, _request(target.port, headers, body, path=target.path))
    # One answer, 400: the hidden second request is never run.
    assert statuses(received) == [400], received[:300]
    assert closed, "the connection must be closed after a 400 for its framing"
    target.still_works()


def test_a_chunked_rest_message_is_still_answered(serve: Serve) -> None:
    chunked = b"%x\r\n%b\r\n0\r\n\r\n" % (len(REST_BODY), REST_BODY)
    request = _request(serve.port, "Transfer-Encoding: chunked\r\nConnection: close", chunked)
    received, closed = exchange(serve.port, request)
    assert statuses(received) == [200], received[:300]
    assert closed
