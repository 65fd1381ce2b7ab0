"""Who may call the action server, and with how much (issue 12, item 1b).

What an attack pass found and what now holds:
- the action server listened on every interface, without authentication, for 20 MB
  bodies: now loopback only, every call signed with a per-start secret, 1 MB at most;
- (second pass) /health's signature was valid as an action answer for any nonce: it has
  its own label now.

The figures go to reports/lifecycle.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lifecycle_probes import FIGURES

from ldn_bot import action_auth
from ldn_bot.settings import Settings
from rasa_project import action_endpoint
from rasa_project.action_process import ActionServer
from rasa_project.assistant import InProcessAssistant as Assistant
from rasa_project.assistant import close_action_endpoint

pytestmark = pytest.mark.usefixtures("lifecycle_figures")


@pytest.fixture(scope="module")
def actions(cfg: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    """One real action server for the tests that only call it."""
    var = dataclasses.replace(cfg, var_dir=tmp_path_factory.mktemp("actions-var"))
    with ActionServer(var) as server:
        yield server


def call(
    server: ActionServer,
    path: str,
    body: bytes = b"",
    *,
    secret: str | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    """An HTTP call to the action server, signed with `secret` when given."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        nonce = action_auth.new_nonce()
        headers[action_auth.NONCE_HEADER] = nonce
        headers[action_auth.REQUEST_MAC_HEADER] = action_auth.request_mac(secret, nonce, body)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=body if method == "POST" else None, headers=headers)
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return 0, {}, b""  # closed before a status: refused all the same
    finally:
        connection.close()


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def test_the_action_server_listens_on_loopback_only(actions: ActionServer) -> None:
    assert _listening_addresses(actions.port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_the_action_server_refuses_calls_without_the_secret(actions: ActionServer) -> None:
    call_body = json.dumps({"next_action": "action_answer_article", "tracker": {}}).encode()
    for path in ("/webhook", "/actions"):
        assert call(actions, path, call_body)[0] == 401
        assert call(actions, path, call_body, secret="not-the-secret")[0] == 401
    # A correct signature over another body is refused too (no replay onto new content).
    nonce = action_auth.new_nonce()
    connection = http.client.HTTPConnection("127.0.0.1", actions.port, timeout=30)
    connection.request(
        "POST",
        "/webhook",
        body=call_body,
        headers={
            action_auth.NONCE_HEADER: nonce,
            action_auth.REQUEST_MAC_HEADER: action_auth.request_mac(actions.secret, nonce, b"{}"),
        },
    )
    assert connection.getresponse().status == 401
    connection.close()
    # Signed with the secret: answered, and the answer is signed back.
    status, headers, body = call(actions, "/actions", secret=actions.secret, method="GET")
    assert status == 200, body
    assert {"name": "action_answer_article"} in json.loads(body)
    assert action_auth.RESPONSE_MAC_HEADER.lower() in headers


def test_the_action_server_refuses_oversize_bodies(actions: ActionServer) -> None:
    huge = b'{"next_action": "action_answer_article", "x": "' + b"a" * (5 * 2**20) + b'"}'
    assert call(actions, "/webhook", huge, secret=actions.secret)[0] in (413, 0)
    FIGURES["action_server_max_body_bytes"] = action_auth.MAX_ACTION_BODY_BYTES


def test_the_largest_real_action_call_is_far_below_the_cap(
    var_cfg: Settings, trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full 60-event window of the longest messages, in the escaping that costs most."""
    sizes: list[int] = []
    real = action_endpoint._json_bytes

    def measured(value: Any) -> bytes:
        body = real(value)
        sizes.append(len(body))
        return body

    monkeypatch.setattr(action_endpoint, "_json_bytes", measured)
    longest = "😀" * 2000  # 12 bytes each as escaped JSON, 4 as UTF-8
    with ActionServer(var_cfg) as server:

        async def converse() -> None:
            assistant = await Assistant.load(
                var_cfg, trained_model, action_url=server.url, action_secret=server.secret
            )
            try:
                for turn in range(30):  # the window fills with the longest messages
                    text = longest[:2000] if turn % 2 else "what did the 2017 study find?"
                    await assistant.ask(text, "largest-call")
            finally:
                await close_action_endpoint(assistant.agent)

        asyncio.run(converse())
    assert len(sizes) >= 15, f"{len(sizes)} action calls"
    FIGURES["largest_action_call_bytes"] = max(sizes)
    print(f"largest action call: {max(sizes)} bytes ({len(sizes)} calls)")
    assert max(sizes) < action_auth.MAX_ACTION_BODY_BYTES / 4


def test_a_health_signature_is_never_a_valid_action_answer(actions: ActionServer) -> None:
    """/health signs any caller's nonce: under its own label, not as an action answer."""
    nonce = action_auth.new_nonce()
    request = urllib.request.Request(
        f"http://127.0.0.1:{actions.port}/health", headers={action_auth.NONCE_HEADER: nonce}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = reply.read()
        mac = reply.headers.get(action_auth.RESPONSE_MAC_HEADER)
    assert action_auth.valid_health(actions.secret, nonce, mac, body)
    assert not action_auth.valid_response(actions.secret, nonce, mac, body)
    assert actions.answers_as_ours()
