"""SIGKILL, SIGTERM and Ctrl-C of `ldn-bot serve` (issue 12, item 7).

What an attack pass found and what now holds:
- after SIGKILL of serve the action server lived on, holding the port;
- SIGTERM under load took 47.7 s, answered new requests and cut off replies.

The figures go to reports/lifecycle.json. `make test` runs the load at a small size,
LDN_BOT_FUZZ_SCALE=10 at full size.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from lifecycle_probes import FIGURES, ask, gone, response
from serving import running_serve, start_serve, stop, wait_until_up
from strategies import SCALE

from ldn_bot.settings import Settings

pytestmark = pytest.mark.usefixtures("lifecycle_figures")


@pytest.mark.model
def test_sigkill_of_serve_leaves_no_action_server(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    with running_serve(cfg, tmp_path / "first", {}) as serve:
        child = serve.action_server_pid()
        serve.process.kill()
        killed_at = time.monotonic()
        serve.process.wait()
        assert gone(child, timeout=15), "the action server outlived serve"
        FIGURES["action_server_gone_after_sigkill_s"] = round(time.monotonic() - killed_at, 1)
        print(f"action server gone {FIGURES['action_server_gone_after_sigkill_s']} s after")
    # The same ports again: a new serve starts and answers, its action server included.
    again = start_serve(
        cfg, tmp_path / "second", {}, port=serve.port, action_port=serve.action_port
    )
    try:
        wait_until_up(again)
        status, replies = ask(again.url, "after-sigkill", "what is LDN?")
        assert status == 200 and replies
        cannot = response(cfg, "utter_cannot_answer_now")
        assert cannot not in replies, replies
    finally:
        stop(again.process)


def _new_connection_refused(port: int) -> str:
    """How a message on a new connection is refused ("" if it is answered): at TCP level
    once the listening socket is closed; with 503, or closed unanswered, while the loop
    is still busy with the requests in flight (it closes the socket when it gets to it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"sender": "after-the-signal", "message": "what is LDN?"}).encode()
    try:
        connection.request("POST", "/webhooks/rest/webhook", body=body)
        status = connection.getresponse().status
    except ConnectionRefusedError:
        return "refused"
    except (OSError, http.client.HTTPException):
        return "closed"
    finally:
        connection.close()
    return "503" if status == 503 else ""


@dataclasses.dataclass
class Outcome:
    text: str
    sent: float
    status: int | None  # None: no HTTP response (refused, reset, closed)
    replies: list[str]
    error: str = ""
    received: float = 0.0


@pytest.mark.model
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_sigterm_under_load_finishes_in_flight_replies_and_exits_quickly(
    cfg: Settings, trained_model: Path, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    """SIGTERM, or Ctrl-C (SIGINT), with clients sending over keep-alive connections."""
    clients, warm_up = 8 * SCALE, 3.0 * SCALE
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    done = threading.Event()
    questions = ["what is LDN?", "how much LDN should I take?", "what did the 2017 study find?"]

    with running_serve(cfg, tmp_path, {}) as serve:
        child = serve.action_server_pid()
        # Ctrl-C in a terminal signals the whole foreground group: the action server has
        # its own, so it cannot stop (and be restarted) while serve finishes its requests.
        assert os.getpgid(child) != os.getpgid(serve.process.pid)

        def client(n: int) -> None:
            connection: http.client.HTTPConnection | None = None
            count = 0
            while not done.is_set():
                count += 1
                text = f"{questions[count % len(questions)]} [{n}-{count}]"
                body = json.dumps({"sender": f"term-{n}", "message": text}).encode()
                sent = time.monotonic()
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=60)
                    connection.request(
                        "POST",
                        "/webhooks/rest/webhook",
                        body=body,
                        headers={"Content-Type": "application/json"},
                    )
                    reply = connection.getresponse()
                    data = reply.read()
                    replies = []
                    if reply.status == 200:
                        replies = [m["text"] for m in json.loads(data) if m.get("text")]
                    outcome = Outcome(text, sent, reply.status, replies, "", time.monotonic())
                    if reply.will_close:
                        connection.close()
                        connection = None
                except (OSError, http.client.HTTPException) as error:
                    outcome = Outcome(text, sent, None, [], type(error).__name__)
                    if connection is not None:
                        connection.close()
                    connection = None
                    time.sleep(0.05)
                with lock:
                    outcomes.append(outcome)
            if connection is not None:
                connection.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(warm_up)
        serve.process.send_signal(stop_signal)
        signalled = time.monotonic()
        time.sleep(0.5)
        refused = _new_connection_refused(serve.port)
        code = serve.process.wait(timeout=60)
        exit_seconds = time.monotonic() - signalled
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        child_gone = gone(child, timeout=10)

    # What the server stored: every user message stored got its reply to its client.
    with sqlite3.connect(tmp_path / "conversations.sqlite") as db:
        stored = {
            json.loads(data).get("text")
            for (data,) in db.execute("SELECT data FROM events WHERE type_name = 'user'")
        }
    by_text = {o.text: o for o in outcomes}
    answered = [o for o in outcomes if o.status == 200]
    lost = [text for text in stored if text in by_text and not by_text[text].replies]
    late = [o for o in answered if o.sent > signalled + 0.5]
    name = stop_signal.name
    print(
        f"{name} under load: {len(outcomes)} requests from {clients} clients, "
        f"{len(answered)} answered, {len(stored)} stored, {len(lost)} replies lost, "
        f"{len(late)} new requests answered after the signal, exit after {exit_seconds:.1f} s"
    )
    FIGURES[f"{name}_clients"] = clients
    FIGURES[f"{name}_requests"] = len(outcomes)
    FIGURES[f"{name}_answered"] = len(answered)
    FIGURES[f"{name}_in_flight_at_signal_answered"] = sum(
        o.sent <= signalled < o.received for o in answered
    )
    FIGURES[f"{name}_refused_or_503"] = len(outcomes) - len(answered)
    FIGURES[f"{name}_stored_without_reply"] = len(lost)
    FIGURES[f"{name}_new_requests_answered_after"] = len(late)
    FIGURES[f"{name}_exit_s"] = round(exit_seconds, 1)
    FIGURES[f"{name}_new_connection_0_5_s_after"] = refused or "answered"
    assert code == 0, serve.log()[-3000:]
    assert exit_seconds < 20, f"serve took {exit_seconds:.1f} s to exit"
    assert refused, f"a new connection got an answer after {name}"
    assert child_gone, "the action server outlived serve"
    assert answered
    for outcome in answered:
        assert outcome.replies, f"{outcome.text!r}: 200 without a reply"
    for outcome in outcomes:
        assert outcome.status in (200, 503, None), outcome
    assert not lost, f"stored but not answered: {lost[:5]}"
    assert not late, f"{len(late)} new requests answered after {name}"


@pytest.mark.model
def test_sigterm_with_socketio_clients_delivers_their_replies_and_exits_in_bounds(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """socket.io over websockets, as the page uses it (spoken raw: python-engineio's
    websocket client does not work with Rasa's aiohttp). An open websocket is not an idle
    connection: Sanic waits for it up to its graceful timeout, so the turn in flight at
    the signal still sends its replies through it."""
    import websockets

    referral = response(cfg, "utter_dosing_referral")
    clients = 4 * SCALE

    async def one(
        url: str, n: int, ready: asyncio.Event, go: asyncio.Event
    ) -> tuple[str, list[str]]:
        received: list[str] = []
        async with websockets.connect(f"{url}/socket.io/?EIO=4&transport=websocket") as ws:
            assert str(await ws.recv()).startswith("0")  # engine.io open
            await ws.send("40")  # socket.io connect
            assert str(await ws.recv()).startswith("40")
            await ws.send("42" + json.dumps(["session_request", {"session_id": None}]))
            session = ""
            while not session:  # the server issues (and signs) the session id
                packet = str(await asyncio.wait_for(ws.recv(), 30))
                if packet.startswith("42"):
                    event, *data = json.loads(packet[2:])
                    if event == "session_confirm":
                        session = str(data[0])
            ready.set()
            await go.wait()
            message = {"message": "how much LDN should I take?", "session_id": session}
            await ws.send("42" + json.dumps(["user_uttered", message]))
            with contextlib.suppress(websockets.ConnectionClosed, asyncio.TimeoutError):
                while referral not in received:
                    packet = str(await asyncio.wait_for(ws.recv(), 30))
                    if packet == "2":
                        await ws.send("3")  # ping, pong
                    elif packet.startswith("42"):
                        event, *data = json.loads(packet[2:])
                        if event == "bot_uttered":
                            received.append(data[0].get("text", ""))
        return session, received

    async def idle(url: str, ready: asyncio.Event) -> None:
        """A page left open: its websocket stays until the server closes it."""
        async with websockets.connect(f"{url}/socket.io/?EIO=4&transport=websocket") as ws:
            await ws.send("40")
            ready.set()
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    if str(await ws.recv()) == "2":
                        await ws.send("3")

    with running_serve(cfg, tmp_path, {}) as serve:
        url = serve.url.replace("http://", "ws://")

        async def run() -> tuple[list[tuple[str, list[str]]], float, int]:
            readies = [asyncio.Event() for _ in range(clients)]
            go = asyncio.Event()
            tasks = [asyncio.create_task(one(url, n, readies[n], go)) for n in range(clients)]
            left_open = asyncio.Event()
            idle_task = asyncio.create_task(idle(url, left_open))
            await asyncio.wait_for(left_open.wait(), 60)
            for ready in readies:
                await asyncio.wait_for(ready.wait(), 60)
            await asyncio.sleep(0.5)  # the sessions are confirmed
            go.set()
            await asyncio.sleep(0.2)  # the messages are being answered
            serve.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = await asyncio.get_running_loop().run_in_executor(
                None, lambda: serve.process.wait(timeout=60)
            )
            exit_seconds = time.monotonic() - signalled
            await asyncio.wait_for(idle_task, 10)  # closed by the server
            return list(await asyncio.gather(*tasks)), exit_seconds, code

        sessions, exit_seconds, code = asyncio.run(run())
    with sqlite3.connect(tmp_path / "conversations.sqlite") as db:
        stored = {
            sender
            for (sender,) in db.execute("SELECT sender_id FROM events WHERE type_name = 'user'")
        }
    received = [replies for _session, replies in sessions]
    lost = [
        n
        for n, (session, replies) in enumerate(sessions)
        if f"socketio:{session.split('.')[0]}" in stored and referral not in replies
    ]
    print(
        f"SIGTERM with {clients} socket.io clients and a page left open: "
        f"{len(stored)} messages stored, "
        f"{sum(referral in r for r in received)} replies delivered, {len(lost)} lost, "
        f"exit after {exit_seconds:.1f} s"
    )
    FIGURES["TERM_socketio_clients"] = clients
    FIGURES["TERM_socketio_stored"] = len(stored)
    FIGURES["TERM_socketio_stored_without_reply"] = len(lost)
    FIGURES["TERM_socketio_exit_s"] = round(exit_seconds, 1)
    assert code == 0, serve.log()[-3000:]
    assert exit_seconds < 20
    assert stored, "no message was in flight at the signal"
    assert not lost, f"stored but not answered: {lost}"
