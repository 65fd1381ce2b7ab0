"""The action server's supervisor: it restarts a child that dies, hangs or loses its port.

What the attack passes found (issue 12, item 1b) and what now holds:
- the supervisor now watches its own child and believes only answers signed with the
  secret;
- (second pass) a hung action server was never restarted: the supervisor now checks its
  signed /health and kills and restarts one that stops answering; a squatter on the port
  after a crash stopped serve: serve now runs degraded and retries with backoff.

The figures go to reports/lifecycle.json.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from lifecycle_probes import (
    ARTICLE_QUESTION,
    DOSE,
    FIGURES,
    ask,
    gone,
    health_of,
    impostor_on,
    response,
    wait_for,
)
from serving import running_serve

from ldn_bot.guard.output import find_leak
from ldn_bot.settings import Settings
from rasa_project.action_process import SupervisedActionServer

pytestmark = pytest.mark.usefixtures("lifecycle_figures")


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
        assert gone(first, timeout=10)


@pytest.mark.model
def test_a_hung_action_server_is_killed_and_restarted(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """F2: a hung action server (frozen here with SIGSTOP) is alive but never answers; the
    supervisor's signed health check finds it, kills it and starts a new one."""
    cannot = response(cfg, "utter_cannot_answer_now")
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
        assert gone(frozen, timeout=10), "the hung action server was not killed"
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
    referral = response(cfg, "utter_dosing_referral")
    cannot = response(cfg, "utter_cannot_answer_now")
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
    assert gone(second, timeout=10), "the restarted action server outlived its supervisor"
    assert time.monotonic() - started < 20
