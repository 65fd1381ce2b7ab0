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
from serving import Serve, running_serve

from ldn_bot import action_auth
from ldn_bot.http_framing import MAX_CONTENT_LENGTH_DIGITS, framing_error
from ldn_bot.settings import Settings
from rasa_project.action_process import ActionServer

# Long enough for a real answer (a REST turn), short enough to fail a hung server.
READ_SECONDS = 30.0
REST = "/webhooks/rest/webhook"
BODY = b'{"sender": "smuggler", "message": "hi"}'


def _smuggled(port: int) -> bytes:
    """A whole second request, to hide in the first one's body."""
    return (
        f"POST {REST} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


# Each shape: the header lines after the request line and Host, and the body (`{smug}`
# stands for a whole second request). From the attack pass's rawhttp2.py and cl_minus1.py.
NEGATIVE = ("Content-Length: -1", b"{}")
SHAPES: dict[str, tuple[str, bytes]] = {
    "negative Content-Length": NEGATIVE,
    "Content-Length with a sign": (f"Content-Length: +{len(BODY)}", BODY),
    "hex Content-Length": ("Content-Length: 0x10", BODY),
    "oversize Content-Length": ("Content-Length: " + "9" * 30, BODY),
    "two different Content-Lengths": (f"Content-Length: {len(BODY)}\r\nContent-Length: 5", BODY),
    "Content-Length then Transfer-Encoding": (
        "Content-Length: 4\r\nTransfer-Encoding: chunked",
        b"%x\r\n%b\r\n0\r\n\r\n" % (len(BODY), BODY),
    ),
    "Transfer-Encoding then Content-Length, a request in the body": (
        "Transfer-Encoding: chunked\r\nContent-Length: 200",
        b"0\r\n\r\n{smug}",
    ),
    "Transfer-Encoding with a space before the colon": (
        f"Transfer-Encoding : chunked\r\nContent-Length: {len(BODY)}",
        BODY,
    ),
    "Content-Length with a space before the colon": (f"Content-Length : {len(BODY)}", BODY),
    "Transfer-Encoding xchunked": (
        f"Transfer-Encoding: xchunked\r\nContent-Length: {len(BODY)}",
        BODY,
    ),
    "Transfer-Encoding chunked, chunked": (
        "Transfer-Encoding: chunked, chunked",
        b"%x\r\n%b\r\n0\r\n\r\n" % (len(BODY), BODY),
    ),
    "two Transfer-Encodings": (
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
        b"%x\r\n%b\r\n0\r\n\r\n" % (len(BODY), BODY),
    ),
    "two Host headers": ("Host: evil.example\r\nContent-Length: 0", b""),
}


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


# --- the check itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: a",
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12",
        b"POST /x HTTP/1.1\r\nHost: a\r\ncontent-length:  0 ",
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 005",
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",
        b"GET /health HTTP/1.0",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nUser-Agent: curl/8.0 (x; y: z)",
    ],
)
def test_ordinary_request_heads_pass(head: bytes) -> None:
    assert framing_error(head) is None


@pytest.mark.parametrize("shape", SHAPES)
def test_each_smuggling_shape_is_named(shape: str) -> None:
    headers, _ = SHAPES[shape]
    head = f"POST /x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n{headers}".encode()
    assert framing_error(head) is not None


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked ",
        b"POST /x HTTP/1.1\r\nContent-Length: \xd9\xa3",  # an Arabic-Indic 3: int() takes it
        b"POST /x HTTP/1.1\r\nContent-Length: 1_0",  # int() takes this too
        b"POST /x HTTP/1.1\r\nContent-Length: " + b"1" * (MAX_CONTENT_LENGTH_DIGITS + 1),
        b"POST /x HTTP/1.1\r\nContent-Length:",
        b"GET /x HTTP/1.1\r\nHost: a\r\n folded",
        b"GET /x HTTP/1.1\r\nHost: a\r\nX\tA: b",
        b"GET /x HTTP/1.1\r\nHost: a\r\nHost: a",
    ],
)
def test_other_ambiguous_heads_are_refused(head: bytes) -> None:
    assert framing_error(head) is not None


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
            status, body = call(self.port, "POST", REST, BODY)
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
    chunked = b"%x\r\n%b\r\n0\r\n\r\n" % (len(BODY), BODY)
    request = _request(serve.port, "Transfer-Encoding: chunked\r\nConnection: close", chunked)
    received, closed = exchange(serve.port, request)
    assert statuses(received) == [200], received[:300]
    assert closed
