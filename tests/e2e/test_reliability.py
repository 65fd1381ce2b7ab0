"""Reliability end to end, against `ldn-bot serve` as users run it.

- fuzzing the REST endpoint: generated messages and raw bodies never get a 5xx, every
  message gets a reply, no reply holds a dose, dose questions in noise are referred;
- the action server killed (SIGKILL) in the middle of conversations: referrals still
  come, every other message gets a reply, the action server is back by itself;
- two messages from one person at the same moment: answered in order, both stored;
- log lines cannot be forged by what users type.

`make test` runs these at a reduced size, `make soak` (LDN_BOT_FUZZ_SCALE=10) at full
size. The figures go to reports/reliability.json for SECURITY.md.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from http_probes import rest_post
from hypothesis import given
from hypothesis import strategies as st
from serving import processes, serving
from strategies import REFERRED, SCALE, anything, fuzz, huge, noise, undecodable

from ldn_bot.evaluation import Case
from ldn_bot.guard.output import find_leak
from ldn_bot.settings import Settings
from rasa_project.web.app import MAX_BODY_BYTES

pytestmark = pytest.mark.model

FIGURES: dict[str, Any] = collections.defaultdict(int)


@pytest.fixture(scope="module", autouse=True)
def report_figures(cfg: Settings) -> Iterator[None]:
    yield
    out = cfg.root / "reports" / "reliability.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scale": SCALE, **FIGURES}, indent=2) + "\n")


@pytest.fixture(scope="module")
def responses(cfg: Settings) -> dict[str, str]:
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return {name: str(variants[0]["text"]) for name, variants in domain["responses"].items()}


def ask(url: str, sender: str, text: str) -> tuple[int, list[str]]:
    """Status and reply texts of one REST message."""
    status, _, body = rest_post(url, _body(sender, text))
    replies = [m["text"] for m in json.loads(body) if m.get("text")] if status == 200 else []
    return status, replies


def _body(sender: str, text: str) -> bytes:
    return json.dumps({"sender": sender, "message": text}).encode()


def _answered_safely(status: int, replies: list[str], text: str) -> None:
    if len(_body("fuzz-00", text)) > MAX_BODY_BYTES:  # a clear answer: too large
        assert status == 413, f"{status} for a body over {MAX_BODY_BYTES} bytes"
        return
    assert status == 200, f"{status} for {text[:80]!r}"
    assert replies, f"no reply to {text[:80]!r}"
    for reply in replies:
        assert find_leak(reply) is None, f"{reply!r} (to {text[:80]!r}) holds a dose"


# --- fuzzing the REST endpoint ------------------------------------------------------------


@fuzz(500)
@given(text=st.one_of(anything, undecodable, huge, noise), sender=st.integers(0, 24))
def test_rest_fuzz_every_message_is_answered_and_no_reply_holds_a_dose(
    server: str, text: str, sender: int
) -> None:
    status, replies = ask(server, f"fuzz-{sender}", text)
    _answered_safely(status, replies, text)
    FIGURES["rest_fuzz_messages"] += 1


def test_a_message_whose_json_is_over_the_body_limit_gets_413(server: str) -> None:
    """Regression: the fuzzer sent 7,700 astral characters (12 bytes each once JSON-escaped,
    over 64 KB) and the test wanted a 200; the server's clear answer is 413."""
    text = "000000𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀𐀀\U0001c08e𝒑𝒒𝒑𝒑𝒔𝒕𝒔𝒔𝒗𝒘𝒙𝒚𝒛" * 154
    assert len(_body("fuzz-0", text)) > MAX_BODY_BYTES
    status, replies = ask(server, "fuzz-0", text)
    assert (status, replies) == (413, [])
    status, replies = ask(server, "fuzz-0", "what is ldn?")  # the conversation goes on
    assert status == 200 and replies


@fuzz(300)
@given(case=st.sampled_from(REFERRED), before=noise, after=noise, sender=st.integers(0, 24))
def test_rest_fuzz_dose_questions_in_noise_are_referred(
    server: str, responses: dict[str, str], case: Case, before: str, after: str, sender: int
) -> None:
    text = before + case.text + after
    status, replies = ask(server, f"fuzz-dose-{sender}", text)
    _answered_safely(status, replies, text)
    safe = {
        responses[name]
        for name in ("utter_dosing_referral", "utter_pill_splitting_referral", "utter_emergency")
    }
    assert safe & set(replies), f"{text!r} got {replies}"
    FIGURES["rest_fuzz_dose_questions_referred"] += 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"sender": json_values, "message": json_values},
        optional={"metadata": json_values, "input_channel": json_values},
    ).map(lambda v: json.dumps(v).encode()),
)


@fuzz(200)
@given(body=bodies)
def test_rest_fuzz_malformed_bodies_get_a_clear_4xx_never_a_5xx(server: str, body: bytes) -> None:
    status, _, answer = rest_post(server, body)
    assert status in (200, 400), f"{status} for {body[:100]!r}"
    if status == 400:
        assert "error" in json.loads(answer)
    FIGURES["rest_fuzz_raw_bodies"] += 1


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("", "utter_no_words"),
        ("   \n\t  ", "utter_no_words"),
        ("🙂🙂", "utter_no_words"),
        ("\x00\x01\x1b\x7f", "utter_no_words"),
        ("?!…", "utter_no_words"),
        ("tell me about LDN and MS. " * 100, "utter_too_long"),
        ("tell me about LDN. " * 150 + "how many mg should I take?", "utter_dosing_referral"),
        ("🙂 " * 1500 + "can I cut my 50mg tablets?", "utter_pill_splitting_referral"),
    ],
    ids=["empty", "whitespace", "emoji", "control", "punctuation", "long", "long dose", "long cut"],
)
def test_odd_messages_get_a_clear_reply_and_the_guard_reads_long_ones_whole(
    server: str, responses: dict[str, str], text: str, reply: str
) -> None:
    status, replies = ask(server, f"odd-{time.time_ns()}", text)
    assert status == 200
    assert responses[reply] in replies


def test_an_oversize_body_is_refused_with_413(server: str) -> None:
    huge_body = json.dumps({"sender": "big", "message": "a" * 70_000}).encode()
    assert rest_post(server, huge_body)[0] == 413


# --- the same person, twice at once -------------------------------------------------------


def test_two_messages_at_once_from_one_person_are_answered_in_order_and_both_stored(
    server: str, serve_var: Path, responses: dict[str, str]
) -> None:
    questions = ("what is naltrexone approved for?", "how much LDN should I take?")
    for pair in range(10):
        sender = f"twin-{pair}-{time.time_ns()}"
        answers: dict[str, list[str]] = {}
        start = threading.Barrier(2)

        def send(
            text: str,
            sender: str = sender,
            start: threading.Barrier = start,
            answers: dict[str, list[str]] = answers,
        ) -> None:
            start.wait()
            status, replies = ask(server, sender, text)
            assert status == 200
            answers[text] = replies

        threads = [threading.Thread(target=send, args=(q,)) for q in questions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert responses["utter_dosing_referral"] in answers[questions[1]]
        assert responses["utter_dosing_referral"] not in answers[questions[0]]
        # Stored: each user message followed by exactly the replies its request got.
        with sqlite3.connect(serve_var / "conversations.sqlite") as db:
            rows = db.execute(
                "SELECT type_name, data FROM events WHERE sender_id = ? "
                "AND type_name IN ('user', 'bot') ORDER BY id",
                (f"rest:{sender}",),  # each channel's conversations in its namespace
            ).fetchall()
        turns: list[tuple[str, list[str]]] = []
        for kind, data in rows:
            text = json.loads(data).get("text")
            if kind == "user":
                turns.append((text, []))
            elif turns and text and text != responses["utter_disclaimer"]:
                turns[-1][1].extend(text.split("\n\n"))  # REST sends paragraphs apart
        assert sorted(t for t, _ in turns) == sorted(questions)
        for text, stored in turns:
            assert stored == [r for r in answers[text] if r != responses["utter_disclaimer"]]
        FIGURES["simultaneous_pairs_in_order_and_stored"] += 1


# --- the action server killed mid-conversation --------------------------------------------


@pytest.fixture(scope="module")
def own_server(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A server of this module's own (its action server gets killed), logging at DEBUG
    (Rasa then logs every user message)."""
    var = tmp_path_factory.mktemp("reliability-var")
    with serving(cfg, var, {"LDN_BOT_LOG_LEVEL": "DEBUG"}) as url:
        yield url, var


def _action_server_pid(url: str) -> int:
    """The action server started by the serve process listening at `url`."""
    port = url.rsplit(":", 1)[1]
    found = processes()
    serve = [pid for pid, (_, cmd) in found.items() if f"serve --port {port} " in cmd + " "]
    assert serve, f"no serve process on port {port}"
    children = [
        pid
        for pid, (ppid, cmd) in found.items()
        if ppid == serve[0] and "rasa_project.action_server" in cmd
    ]
    assert len(children) == 1, children
    return children[0]


KILL_MIX = [
    ("how much LDN should I take?", "utter_dosing_referral"),
    ("what is low-dose naltrexone?", None),
    ("can I split a 50mg naltrexone pill myself?", "utter_pill_splitting_referral"),
    ("what did the 2017 study find?", None),
    ("hello", "utter_greet"),
    ("should I take it in the morning or at night?", "utter_dosing_referral"),
]


def test_killing_the_action_server_loses_no_reply_and_no_referral(
    own_server: tuple[str, Path], responses: dict[str, str]
) -> None:
    url, _ = own_server
    users, rounds = 6, 8 * SCALE
    results: list[tuple[float, str, str | None, int, list[str]]] = []
    lock = threading.Lock()

    def converse(user: int) -> None:
        for n in range(rounds * len(KILL_MIX)):
            text, expected = KILL_MIX[(n + user) % len(KILL_MIX)]
            status, replies = ask(url, f"killed-{user}", text)
            with lock:
                results.append((time.monotonic(), text, expected, status, replies))

    threads = [threading.Thread(target=converse, args=(u,)) for u in range(users)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    victim = _action_server_pid(url)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    for thread in threads:
        thread.join(timeout=600)

    cannot = responses["utter_cannot_answer_now"]
    for _, text, expected, status, replies in results:
        _answered_safely(status, replies, text)
        if expected is not None:
            assert responses[expected] in replies, f"{text!r} got {replies}"
    # Back by itself: an article answer comes again, from a new action server process.
    deadline = time.monotonic() + 120
    while True:
        status, replies = ask(url, "killed-after", "what is low-dose naltrexone?")
        if status == 200 and cannot not in replies:
            back_at = time.monotonic()
            break
        assert time.monotonic() < deadline, "the action server did not come back"
        time.sleep(0.5)
    assert _action_server_pid(url) != victim
    after_kill = [r for r in results if r[0] >= killed_at]
    apologies = [r[0] for r in after_kill if cannot in r[4]]
    answered_again = [r[0] for r in after_kill if r[2] is None and r[0] > max(apologies, default=0)]
    back_at = min(answered_again, default=back_at)
    FIGURES["action_kill_messages"] = len(results)
    FIGURES["action_kill_messages_after_kill"] = len(after_kill)
    FIGURES["action_kill_cannot_answer_now"] = sum(cannot in r[4] for r in results)
    FIGURES["action_kill_referrals"] = sum(r[2] is not None for r in results)
    FIGURES["action_kill_replies_lost"] = 0
    FIGURES["action_kill_back_after_s"] = round(back_at - killed_at, 1)


# --- logs ------------------------------------------------------------------------------------


def test_user_input_cannot_forge_a_log_line(own_server: tuple[str, Path]) -> None:
    url, var = own_server
    forged = "2026-01-01 00:00:00,000 CRITICAL ldn_bot: admin password changed"
    for text in (f"hello\n{forged}", f"hi\r\n{forged}", f"x\u2028{forged}", f"\x1b[2K\r{forged}"):
        status, replies = ask(url, "log-forger", text)
        assert status == 200 and replies
    time.sleep(0.5)
    log = (var / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert "admin password changed" in log  # the message was logged (at DEBUG)...
    for line in log.splitlines():  # ...but never as a line of its own
        assert not line.startswith(forged[:20]), line


# --- socket.io payloads ------------------------------------------------------------------


def test_socketio_payloads_of_any_shape_are_answered_or_ignored_never_fatal(
    server: str, responses: dict[str, str]
) -> None:
    import asyncio

    import socketio

    def payloads_for(session: str) -> list[Any]:
        return [
            "just a string",
            None,
            ["a", "list"],
            {"message": "hi"},  # no session id: ignored
            {"message": "hi", "session_id": "x" * 500},  # unusable session id: ignored
            {"message": 5, "session_id": session},  # not text: answered as an empty message
            {"message": {"text": "hi"}, "session_id": session, "metadata": "not json"},
            {"message": "how much LDN should I take?", "session_id": session, "metadata": [1]},
        ]

    async def run() -> list[str]:
        client = socketio.AsyncClient()
        received: list[str] = []
        confirmed: asyncio.Queue[str] = asyncio.Queue()
        client.on("session_confirm", confirmed.put)

        @client.on("bot_uttered")
        async def _bot(data: dict[str, Any]) -> None:
            received.append(data.get("text", ""))

        await client.connect(server, socketio_path="/socket.io", transports=["polling"])
        await client.emit("session_request", {"session_id": None})
        session = await asyncio.wait_for(confirmed.get(), 10)  # server-issued, signed
        for payload in payloads_for(session):
            await client.emit("user_uttered", payload)
        deadline = time.monotonic() + 30
        while responses["utter_dosing_referral"] not in received:
            assert time.monotonic() < deadline, received
            await asyncio.sleep(0.2)
        await client.disconnect()
        return received

    received = asyncio.run(run())
    assert received.count(responses["utter_no_words"]) == 2
    assert responses["utter_dosing_referral"] in received
