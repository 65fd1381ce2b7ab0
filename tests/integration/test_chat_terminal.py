"""`ldn-bot chat` in a real terminal (tmux; a pseudo-terminal of our own without it), as a
person uses it.

What broke (issue 14): Ctrl-C at the prompt killed the action server, and every later
article question got "I can't answer that right now". Now Ctrl-C clears the line, the
action server (its own session, supervised) lives on, and a second Ctrl-C at an empty
prompt leaves with a goodbye.
"""

from __future__ import annotations

import fcntl
import os
import pty
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import processes

from ldn_bot.settings import Settings

pytestmark = pytest.mark.model

KEYS = {"C-c": b"\x03", "C-d": b"\x04", "Enter": b"\r", "BSpace": b"\x7f"}


class Terminal:
    """One tmux session on its own server socket, running one command."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.socket = f"ldn-bot-test-{uuid.uuid4().hex[:8]}"
        self.session = "chat"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = f"cd {shlex.quote(str(cwd))} && exec env {exports} {shlex.join(command)}"
        self.tmux("new-session", "-d", "-s", self.session, "-x", "220", "-y", "80", line)
        self.tmux("set-option", "-t", self.session, "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        """What the terminal shows (scrollback included), without the empty rows below."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-2000", "-t", self.session).rstrip()

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}"))

    def dead(self) -> bool:
        return self.tmux("display-message", "-p", "-t", self.session, "#{pane_dead}") == "1\n"

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 60) -> str:
        """The screen once `text` shows after its first `after` characters."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in " ".join(screen[after:].split()):  # a reply wraps at 100 columns
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} did not show within {timeout:.0f} s:\n{screen[-4000:]}")
            time.sleep(0.2)

    def prompts(self) -> int:
        return self.screen().count("you>")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


class PseudoTerminal(Terminal):
    """The same, on a pseudo-terminal of this process (where tmux is not installed)."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self._parent, self._child = pty.openpty()
        fcntl.ioctl(self._child, termios.TIOCSWINSZ, struct.pack("HHHH", 80, 220, 0, 0))
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            preexec_fn=self._child_side,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(self._child)
        self._output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _child_side(self) -> None:
        """In the child: a new session whose controlling terminal is the pty's end."""
        os.setsid()
        fcntl.ioctl(self._child, termios.TIOCSCTTY, 0)
        for descriptor in (0, 1, 2):
            os.dup2(self._child, descriptor)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._parent, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._output += chunk

    def keys(self, *keys: str) -> None:
        for key in keys:
            os.write(self._parent, KEYS[key])

    def type(self, text: str) -> None:
        os.write(self._parent, text.encode())

    def screen(self) -> str:
        return bytes(self._output).decode(errors="replace").replace("\r", "").rstrip()

    def pid(self) -> int:
        return self.process.pid

    def dead(self) -> bool:
        return self.process.poll() is not None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._parent)


@pytest.fixture
def chat(cfg: Settings, trained_model: Path, tmp_path: Path) -> Iterator[Terminal]:
    env = {
        "LDN_BOT_VAR": str(tmp_path),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TERM": "xterm",
    }
    kind = (
        Terminal
        if shutil.which("tmux") and not os.environ.get("LDN_BOT_TEST_PTY")
        else PseudoTerminal
    )
    terminal = kind([sys.executable, "-m", "rasa_project", "chat"], env, cfg.root)
    try:
        terminal.wait_for("you>", timeout=240)
        yield terminal
    finally:
        terminal.close()


def action_servers_of(pid: int) -> list[int]:
    return [
        child
        for child, (ppid, cmdline) in processes().items()
        if ppid == pid and "rasa_project.action_server" in cmdline
    ]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def ask(terminal: Terminal, text: str, expect: str) -> str:
    mark = len(terminal.screen())
    terminal.type(text)
    terminal.keys("Enter")
    return terminal.wait_for(expect, after=mark)


def test_ctrl_c_at_the_prompt_clears_the_line_and_article_questions_are_still_answered(
    chat: Terminal,
) -> None:
    [server] = action_servers_of(chat.pid())
    for half_typed in ("what is", "how much", ""):
        before = chat.prompts()
        chat.type(half_typed)
        time.sleep(0.3)
        chat.keys("C-c")
        deadline = time.monotonic() + 10
        while chat.prompts() <= before:
            assert time.monotonic() < deadline, chat.screen()[-2000:]
            time.sleep(0.1)
        chat.type("x")  # any key: the next Ctrl-C is a first one again
        chat.keys("BSpace")
        chat.keys("Enter")  # an empty line: nothing sent
    time.sleep(1)
    assert alive(server) and action_servers_of(chat.pid()) == [server]
    screen = ask(chat, "what is naltrexone approved for?", "alcohol dependence")
    assert "can't answer that right now" not in screen
    ask(chat, "what did the 2017 study find?", "reduced their use of other medications")


def test_commands_numbers_and_debug_in_the_terminal(chat: Terminal) -> None:
    ask(chat, "/dosage please", "see /help")
    screen = ask(chat, "hello", "[4] Is it safe?")
    assert "[1] What is LDN?" in screen
    ask(chat, "1", "(you chose: What is LDN?)")
    chat.wait_for("approved to treat alcohol and opioid addictions")
    ask(chat, "/sources", "[s05]")
    ask(chat, "/debug", "(debug on)")
    screen = ask(chat, "how much LDN should I take at night?", "guard rule")
    assert "route doctor_referral" in screen.rsplit("you> how much LDN", 1)[1]
    ask(chat, "/sources", "quoted nothing")


def test_a_second_ctrl_c_at_an_empty_prompt_leaves_with_a_goodbye(chat: Terminal) -> None:
    [server] = action_servers_of(chat.pid())
    chat.keys("C-c")
    chat.wait_for("Ctrl-C again or Ctrl-D to leave")
    chat.keys("C-c")
    chat.wait_for("Goodbye")
    deadline = time.monotonic() + 30
    while not chat.dead() or alive(server):
        assert time.monotonic() < deadline, chat.screen()[-2000:]
        time.sleep(0.2)
    assert "Traceback" not in chat.screen()


def test_ctrl_d_leaves_with_a_goodbye(chat: Terminal) -> None:
    chat.keys("C-d")
    chat.wait_for("Goodbye")
    deadline = time.monotonic() + 30
    while not chat.dead():
        assert time.monotonic() < deadline, chat.screen()[-2000:]
        time.sleep(0.2)
