"""The processes of `ldn-bot serve`: the action server, its supervisor, the signals.

What an attack pass found (issue 12, items 1b and 7) and what now holds:
- the action server listened on every interface, without authentication, for 20 MB
  bodies: now loopback only, every call signed with a per-start secret, 1 MB at most;
- a program that took the action port after a crash was believed (its "health" and its
  answers): now the supervisor watches its own child and believes only answers signed
  with the secret; a port taken at start stops serve with one clear line;
- (second pass) a hung action server was never restarted: the supervisor now checks its
  signed /health and kills and restarts one that stops answering; a squatter on the port
  after a crash stopped serve: serve now runs degraded and retries with backoff; /health's
  signature was valid as an action answer for any nonce: it has its own label now;
- after SIGKILL of serve the action server lived on, holding the port;
- SIGTERM under load took 47.7 s, answered new requests and cut off replies.

The figures go to reports/lifecycle.json. `make test` runs the load at a small size,
LDN_BOT_FUZZ_SCALE=10 at full size.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import http.client
import http.server
import json
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from serving import processes, running_serve, start_serve, stop, wait_until_up
from strategies import SCALE

from ldn_bot import action_auth
from ldn_bot.guard.output import find_leak
from ldn_bot.ports import PortInUse, free_port
from ldn_bot.settings import Settings
from rasa_project import action_endpoint
from rasa_project.action_process import ActionServer, SupervisedActionServer
from rasa_project.assistant import InProcessAssistant as Assistant
from rasa_project.assistant import close_action_endpoint

FIGURES: dict[str, Any] = collections.defaultdict(int)
DOSE = "take 4.5 mg at bedtime; cut a 50 mg tablet in half"


@pytest.fixture(scope="module", autouse=True)
def report_figures(cfg: Settings) -> Iterator[None]:
    yield
    out = cfg.root / "reports" / "lifecycle.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scale": SCALE, **FIGURES}, indent=2) + "\n")


@pytest.fixture
def var_cfg(cfg: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(cfg, var_dir=tmp_path)


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


# --- the action server --------------------------------------------------------------------


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


# --- impostors on the action port ----------------------------------------------------------


class Impostor(http.server.ThreadingHTTPServer):
    """Another program on a port: answers /health 200 and every call with a dose."""

    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(b'{"status": "ok"}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = {"events": [], "responses": [{"text": DOSE}]}
                self._answer(json.dumps(reply).encode())

            def log_message(self, *_args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@contextlib.contextmanager
def impostor_on(port: int, *, wait: float = 0.0) -> Iterator[Impostor]:
    """An impostor on `port`, trying for up to `wait` seconds to get it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            impostor = Impostor(port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    try:
        yield impostor
    finally:
        impostor.stop()


def test_an_impostor_on_the_action_port_is_not_taken_for_the_action_server(
    var_cfg: Settings,
) -> None:
    port = free_port()
    with impostor_on(port):
        server = ActionServer(var_cfg, port=port)
        with pytest.raises(PortInUse, match=f"port {port} is in use by another program"):
            server.start(timeout=60)
        assert not server.answers_as_ours()


def test_an_impostors_answers_never_reach_the_user(var_cfg: Settings, trained_model: Path) -> None:
    port = free_port()
    questions = ["what is LDN?", "what does the 2017 study say?", "hello"]

    async def converse() -> list[list[str]]:
        assistant = await Assistant.load(
            var_cfg,
            trained_model,
            action_url=f"http://127.0.0.1:{port}/webhook",
            action_secret=action_auth.new_secret(),
        )
        try:
            return [(await assistant.ask(q, "impostor")).replies for q in questions]
        finally:
            await close_action_endpoint(assistant.agent)

    with impostor_on(port):
        replies = asyncio.run(converse())
    for question, answer in zip(questions, replies, strict=True):
        assert answer, f"no reply to {question!r}"
        assert all(DOSE not in r and find_leak(r) is None for r in answer), answer
    FIGURES["impostor_replies_leaked"] = 0


def test_a_foreign_process_on_the_action_port_stops_serve(cfg: Settings, tmp_path: Path) -> None:
    port = free_port()
    with impostor_on(port):
        serve = start_serve(cfg, tmp_path, {}, action_port=port)
        code = serve.process.wait(timeout=120)
    assert code != 0
    expected = f"port {port} is in use by another program: choose --action-port or stop it"
    assert expected in serve.log()
    assert "ldn-bot is up" not in serve.log()


def test_a_foreign_process_on_the_web_port_stops_serve(cfg: Settings, tmp_path: Path) -> None:
    port = free_port()
    with impostor_on(port):
        serve = start_serve(cfg, tmp_path, {}, port=port)
        code = serve.process.wait(timeout=120)
    assert code != 0
    assert f"port {port} is in use by another program: choose --port or stop it" in serve.log()


@pytest.mark.parametrize("taken", ["port", "action_port"])
def test_a_taken_port_is_one_clear_line_and_a_non_zero_exit(
    cfg: Settings, tmp_path: Path, taken: str
) -> None:
    """It printed "ldn-bot is up", then a traceback, and exited 0 (issue 14)."""
    port = free_port()
    with impostor_on(port):
        serve = start_serve(cfg, tmp_path, {}, **{taken: port})
        code = serve.process.wait(timeout=120)
    option = "--" + taken.replace("_", "-")
    assert code == 1
    assert serve.log().splitlines() == [
        f"ldn-bot: port {port} is in use by another program: choose {option} or stop it"
    ]


def test_serve_says_it_is_up_only_once_it_accepts_connections(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """It printed "ldn-bot is up" about 6 s before the server took connections."""
    serve = start_serve(cfg, tmp_path, {})
    try:
        deadline = time.monotonic() + 180
        while "ldn-bot is up" not in serve.log():
            assert serve.process.poll() is None, serve.log()[-3000:]
            assert time.monotonic() < deadline, serve.log()[-3000:]
            time.sleep(0.05)
        # At once: connections are accepted and the model is loaded (503 while loading).
        with urllib.request.urlopen(f"{serve.url}/health", timeout=5) as reply:
            assert reply.status == 200
            assert json.loads(reply.read())["status"] == "ok"
    finally:
        stop(serve.process)


def ask(url: str, sender: str, text: str) -> tuple[int, list[str]]:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, [m["text"] for m in json.loads(reply.read()) if m.get("text")]
    except urllib.error.HTTPError as error:
        return error.code, []


def health_of(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=30) as reply:
        return dict(json.loads(reply.read()))


def wait_for(what: str, check: Any, timeout: float = 120.0) -> float:
    """Poll `check()` until true; the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.5)
    return time.monotonic() - started


ARTICLE_QUESTION = "what did the 2017 study find?"


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


def test_a_frozen_action_server_is_killed_and_restarted_by_its_supervisor(
    var_cfg: Settings,
) -> None:
    supervisor = SupervisedActionServer(var_cfg, health_every=0.5, health_timeout=0.5)
    with supervisor:
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)
        wait_for(
            "a new child", lambda: supervisor.pid not in (None, first) and supervisor.available
        )
        assert supervisor.answers_as_ours()
        assert supervisor.hung == 1
        assert _gone(first, timeout=10)


@pytest.mark.model
def test_a_hung_action_server_is_killed_and_restarted(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """F2: a hung action server (frozen here with SIGSTOP) is alive but never answers; the
    supervisor's signed health check finds it, kills it and starts a new one."""
    cannot = _response(cfg, "utter_cannot_answer_now")
    with running_serve(cfg, tmp_path, {}) as serve:
        status, replies = ask(serve.url, "hung", ARTICLE_QUESTION)
        assert status == 200 and replies and cannot not in replies, replies
        frozen = serve.action_server_pid()
        os.kill(frozen, signal.SIGSTOP)
        frozen_at = time.monotonic()
        answers: list[list[str]] = []

        def answered() -> bool:
            status, replies = ask(serve.url, "hung", ARTICLE_QUESTION)
            answers.append(replies)
            return status == 200 and bool(replies) and cannot not in replies

        took = wait_for("article answers again", answered)
        back_after = time.monotonic() - frozen_at
        assert _gone(frozen, timeout=10), "the hung action server was not killed"
        assert serve.action_server_pid() != frozen
        assert health_of(serve.url)["actions"]["available"] is True
        assert "did not answer its health check" in serve.log()
    assert all(find_leak(r) is None for answer in answers for r in answer)
    FIGURES["hung_action_server_back_after_s"] = round(back_after, 1)
    FIGURES["hung_action_server_questions_while_down"] = len(answers) - 1
    print(
        f"hung action server: article answers back {back_after:.1f} s after SIGSTOP "
        f"({len(answers) - 1} questions answered 'cannot answer now' meanwhile; {took:.1f} s)"
    )


@pytest.mark.model
def test_a_port_squatter_after_a_crash_leaves_serve_degraded_not_dead(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """F4: kill the action server, take its port, answer everything with a dose. Serve keeps
    answering (the safety replies are rules), never believes the squatter, says degraded,
    and gets its action server back once the port is free."""
    referral = _response(cfg, "utter_dosing_referral")
    cannot = _response(cfg, "utter_cannot_answer_now")
    replies: list[str] = []
    with running_serve(cfg, tmp_path, {}) as serve:
        victim = serve.action_server_pid()
        os.kill(victim, signal.SIGKILL)
        with impostor_on(serve.action_port, wait=10):
            in_use = f"port {serve.action_port} is in use by another program"
            wait_for(
                "/health names the squatter",
                lambda: health_of(serve.url)["actions"]["last_error"] == in_use,
            )
            health = health_of(serve.url)
            assert health["status"] == "degraded"
            assert health["actions"]["available"] is False and health["actions"]["since"]
            for n in range(3):
                status, dose = ask(serve.url, f"dose-{n}", "how much LDN should I take?")
                assert status == 200 and referral in dose, dose
                status, article = ask(serve.url, f"article-{n}", ARTICLE_QUESTION)
                assert status == 200 and cannot in article, article
                replies += dose + article
            assert serve.process.poll() is None, "serve stopped"
        squatter_gone = time.monotonic()

        def answered() -> bool:
            status, article = ask(serve.url, "squatted", ARTICLE_QUESTION)
            replies.extend(article)
            return status == 200 and bool(article) and cannot not in article

        wait_for("article answers again", answered)
        back_after = time.monotonic() - squatter_gone
        assert health_of(serve.url)["status"] == "ok"
        log = serve.log()
    assert all(DOSE not in r and find_leak(r) is None for r in replies)
    assert log.count("action server unavailable") == 1, log[-3000:]
    assert log.count(in_use) <= 1, log[-3000:]
    FIGURES["squatter_replies"] = len(replies)
    FIGURES["squatter_doses_leaked"] = 0
    FIGURES["squatter_back_after_s"] = round(back_after, 1)
    print(
        f"squatter: {len(replies)} replies, 0 doses, serve alive; article answers back "
        f"{back_after:.1f} s after the squatter left"
    )


def test_an_action_server_that_dies_at_the_first_start_is_an_error(
    var_cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At serve's start a child that cannot start stops serve (the caller's error)."""
    monkeypatch.setattr(sys, "executable", shutil.which("false"))
    with pytest.raises(RuntimeError, match="exited"):
        SupervisedActionServer(var_cfg).start()


def test_an_action_server_that_keeps_dying_later_is_retried_with_backoff_not_given_up(
    var_cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisor = SupervisedActionServer(var_cfg, backoff=0.1, max_backoff=0.4)
    with supervisor:
        # From now on every start fails: the child exits at once with an error.
        monkeypatch.setattr(sys, "executable", shutil.which("false"))
        assert supervisor.pid is not None
        os.kill(supervisor.pid, signal.SIGKILL)
        wait_for("several restarts", lambda: supervisor.restarts >= 4)
        status = supervisor.status()
        assert status["available"] is False and "exited" in status["last_error"]
        assert supervisor.outages == 1
        monkeypatch.undo()  # the child can start again
        wait_for("back", lambda: supervisor.available)
        assert supervisor.answers_as_ours()


def test_stopping_the_supervisor_during_a_restart_leaves_no_action_server(
    var_cfg: Settings,
) -> None:
    supervisor = SupervisedActionServer(var_cfg, check_every=0.05)
    supervisor.start()
    first = supervisor.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while supervisor.pid in (None, first):  # the restart has begun
        assert time.monotonic() < deadline, "no restart"
        time.sleep(0.01)
    second = supervisor.pid
    assert second is not None
    started = time.monotonic()
    supervisor.stop()
    FIGURES["supervisor_stop_during_restart_s"] = round(time.monotonic() - started, 1)
    assert _gone(second, timeout=10), "the restarted action server outlived its supervisor"
    assert time.monotonic() - started < 20


# --- SIGKILL and SIGTERM of serve ----------------------------------------------------------


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid not in processes():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.model
def test_sigkill_of_serve_leaves_no_action_server(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    with running_serve(cfg, tmp_path / "first", {}) as serve:
        child = serve.action_server_pid()
        serve.process.kill()
        killed_at = time.monotonic()
        serve.process.wait()
        assert _gone(child, timeout=15), "the action server outlived serve"
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
        cannot = _response(cfg, "utter_cannot_answer_now")
        assert cannot not in replies, replies
    finally:
        stop(again.process)


def _response(cfg: Settings, name: str) -> str:
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return str(domain["responses"][name][0]["text"])


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
        child_gone = _gone(child, timeout=10)

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

    referral = _response(cfg, "utter_dosing_referral")
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
