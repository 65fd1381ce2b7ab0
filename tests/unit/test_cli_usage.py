"""The command line as a new user meets it, without the model: --version and --help,
usage errors, the terminal chat's commands and Ctrl-C, purge's question, training's
output (issue 14, "The terminal chat and the CLI")."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ldn_bot.assistant import TurnResult
from ldn_bot.cli.chat import Chat, InterruptibleTurns
from ldn_bot.cli.parser import build_parser
from ldn_bot.settings import Settings
from rasa_project.training import _training_output

CLI = (sys.executable, "-m", "rasa_project")
COMMANDS = ("train", "chat", "ask", "serve", "forget", "purge", "report")


def run(cfg: Settings, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args],
        cwd=cfg.root,
        env={**os.environ, "LDN_BOT_VAR": str(tmp_path)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- --version, --help, usage errors -----------------------------------------------------


def test_version_is_printed(cfg: Settings, tmp_path: Path) -> None:
    result = run(cfg, tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("ldn-bot ") and result.stdout.strip() != "ldn-bot"


def test_every_subcommand_has_a_one_line_description_in_help(cfg: Settings, tmp_path: Path) -> None:
    result = run(cfg, tmp_path, "--help")
    assert result.returncode == 0
    choices = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    helps = {action.dest: action.help for action in choices._choices_actions}  # type: ignore[attr-defined]
    assert set(helps) == set(COMMANDS)
    for name, summary in helps.items():
        assert summary and "\n" not in summary, name
        assert name in result.stdout
    for name in COMMANDS:  # and on the command's own help
        own = run(cfg, tmp_path, name, "--help")
        assert own.returncode == 0 and helps[name][1:] in own.stdout.replace("\n", " "), name


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["forget"], "usage: ldn-bot forget"),
        (["purge", "--days", "-1"], "usage: ldn-bot purge"),
        (["purge", "--days", "many"], "usage: ldn-bot purge"),
        (["serve", "--port", "99999"], "usage: ldn-bot serve"),
        (["serve", "--port", "6001", "--action-port", "6001"], "usage: ldn-bot serve"),
        (["report", "--since", "yesterday"], "usage: ldn-bot report"),
        (["ask", "--no-such-option"], "usage: ldn-bot ask"),
        (["no-such-command"], "usage: ldn-bot "),
    ],
)
def test_argument_errors_exit_2_with_the_commands_usage(
    cfg: Settings, tmp_path: Path, args: list[str], usage: str
) -> None:
    result = run(cfg, tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(usage), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# --- purge asks ------------------------------------------------------------------------


def test_purge_with_nothing_old_says_so_and_asks_nothing(cfg: Settings, tmp_path: Path) -> None:
    result = run(cfg, tmp_path, "purge")
    assert result.returncode == 0
    assert "Nothing to delete." in result.stdout


# --- the terminal chat, without a model ------------------------------------------------------


def turn(text: str, **fields: object) -> TurnResult:
    values: dict[str, object] = {
        "question": text,
        "replies": [f"answer to {text}"],
        "route": "article_answer",
        "intent": "ask_fda_approval",
        "confidence": 0.91,
        "citations": ["s08", "s09"],
    }
    values.update(fields)
    return TurnResult(**values)  # type: ignore[arg-type]


class FakeBot:
    def __init__(self, **fields: object) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fields = fields

    def __call__(self, text: str, sender: str) -> TurnResult:
        self.sent.append((text, sender))
        return turn(text, **self.fields)


def chat_with(cfg: Settings, bot: FakeBot) -> tuple[Chat, list[str]]:
    shown: list[str] = []
    return Chat(cfg, bot, shown.append), shown


def test_an_empty_line_sends_nothing(cfg: Settings) -> None:
    bot = FakeBot()
    chat, shown = chat_with(cfg, bot)
    for line in ("", "   ", "\t"):
        assert chat.handle(line)
    assert bot.sent == [] and shown == []


@pytest.mark.parametrize("command", ["/foo", "/dose 4.5mg", "/back", "/ask_naltrexone", "/HELPME"])
def test_unknown_commands_are_not_sent_to_the_bot(cfg: Settings, command: str) -> None:
    bot = FakeBot()
    chat, shown = chat_with(cfg, bot)
    assert chat.handle(command)
    assert bot.sent == []
    assert shown and "unknown command" in shown[-1] and "see /help" in shown[-1]


def test_quick_replies_are_numbered_and_picked_by_number(cfg: Settings) -> None:
    buttons = (("What is LDN?", "/ask_naltrexone"), ("Is it safe?", "/ask_safety"))
    bot = FakeBot(buttons=buttons, citations=[])
    chat, shown = chat_with(cfg, bot)
    chat.handle("hello")
    assert "[1] What is LDN?" in shown[-1] and "[2] Is it safe?" in shown[-1]
    chat.handle("2")
    assert bot.sent[-1][0] == "/ask_safety"
    assert any("Is it safe?" in line for line in shown)
    chat.handle("7")  # no such choice: a message like any other
    assert bot.sent[-1][0] == "7"


def test_debug_shows_intent_confidence_and_the_guard_rule(cfg: Settings) -> None:
    bot = FakeBot(
        route="doctor_referral",
        intent="ask_dosing",
        confidence=0.89,
        guard_rule="dosing.how_much",
        guard_source="message",
    )
    chat, shown = chat_with(cfg, bot)
    chat.handle("how much should I take")
    assert not any("dosing.how_much" in line for line in shown)
    chat.handle("/debug")
    chat.handle("how much should I take")
    line = shown[-1]
    assert "doctor_referral" in line and "ask_dosing" in line and "0.89" in line
    assert "dosing.how_much (message)" in line
    chat.handle("/debug")
    shown.clear()
    chat.handle("how much should I take")
    assert not any("ask_dosing" in line for line in shown)


def test_sources_after_a_reply_without_a_source_say_so(cfg: Settings) -> None:
    bot = FakeBot()
    chat, shown = chat_with(cfg, bot)
    chat.handle("/sources")
    assert "ask a question first" in shown[-1]
    chat.handle("what is naltrexone approved for?")
    chat.handle("/sources")
    assert "[s08]" in shown[-1] and "[s09]" in shown[-1]
    assert "medicalnewstoday.com" in shown[-1]
    bot.fields["citations"] = []
    chat.handle("hello")
    chat.handle("/sources")
    assert "quoted nothing" in shown[-1] and "[s08]" not in shown[-1]


def test_restart_starts_a_new_conversation_and_quit_leaves(cfg: Settings) -> None:
    bot = FakeBot()
    chat, _ = chat_with(cfg, bot)
    chat.handle("hello")
    chat.handle("/restart")
    chat.handle("hello")
    assert bot.sent[0][1] != bot.sent[1][1]
    assert chat.handle("/quit") is False and chat.handle("/exit") is False


class SlowAssistant:
    """An assistant whose turn takes `seconds` (the action server hanging, say)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.finished: list[str] = []

    async def ask(self, text: str, sender: str) -> TurnResult:
        await asyncio.sleep(self.seconds)
        self.finished.append(text)
        return turn(text)


@pytest.mark.parametrize("loop_kind", ["uvloop", "asyncio"])
def test_ctrl_c_while_waiting_stops_the_wait_and_the_prompt_gets_ctrl_c_again(
    loop_kind: str,
) -> None:
    """Rasa runs on uvloop, whose handler stayed in place when removed with the loop
    stopped: the prompt's Ctrl-C then did nothing at all."""
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        turns = InterruptibleTurns(SlowAssistant(1.5), loop)  # type: ignore[arg-type]
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        started = time.monotonic()
        assert turns.ask("what did the 2017 study find?", "s1") is None
        assert time.monotonic() - started < 1.4
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(KeyboardInterrupt):  # as at the prompt: input() raises it
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        # The next turn answers; the dropped one ends too (its conversation is stored).
        assert turns.ask("what is naltrexone approved for?", "s1") is not None
        turns.finish()
        assert not turns.dropped
    finally:
        loop.close()


# --- training prints one line of ours, not Rasa's progress bars -----------------------------


def test_training_output_keeps_rasas_progress_bars_back(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from rasa.shared.utils.io import is_logging_disabled
    from tqdm import tqdm

    monkeypatch.delenv("LOG_LEVEL", raising=False)
    captured = io.StringIO()
    with _training_output(False, captured):
        assert is_logging_disabled()  # what Rasa's "Processed trackers" bars check
        for _ in tqdm(range(50), desc="Processed rules"):
            pass
        print("Your Rasa model is trained and saved")
    out, err = capfd.readouterr()
    assert "Processed" not in out + err and "trained and saved" not in out + err
    assert "LOG_LEVEL" not in os.environ
