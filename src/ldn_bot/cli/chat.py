"""`ldn-bot chat`: the terminal chat shell (readline, slash commands, numbered choices)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import textwrap
import uuid
from collections.abc import Callable, Sequence

from ldn_bot.assistant import Assistant, Runtime, TurnResult
from ldn_bot.cli.progress import progress
from ldn_bot.settings import Settings

CHAT_HELP = """Commands:
  /help      this help
  /sources   the article's sentences the last answer quoted, and the article's address
  /debug     show or hide each turn's route, intent, confidence and guard rule
  /restart   start a new conversation
  /quit      leave (Ctrl-D, or Ctrl-C twice at an empty prompt, works too)
  1, 2, ...  pick one of the numbered choices under a reply
Ctrl-C clears the line (or stops waiting for an answer).
Ask anything about what the article says about low-dose naltrexone (LDN) and MS."""

CHAT_COMMANDS = ("/help", "/sources", "/debug", "/restart", "/quit", "/exit")
GOODBYE = "Goodbye, and take care. For anything about your own treatment, ask your doctor."
ARTICLE_URL = "https://www.medicalnewstoday.com/articles/325455.php"


def cmd_chat(cfg: Settings, _args: argparse.Namespace, runtime: Runtime) -> int:
    """The interactive shell: readline history, slash commands, numbered quick replies.

    Ctrl-C clears the line, like a shell, or stops waiting for an answer; a second one at
    an empty prompt, Ctrl-D or /quit leaves. The action server started here is in its own
    session (the terminal's Ctrl-C never reaches it) and supervised (restarted if it dies).
    """
    import readline

    history = cfg.var_dir / "chat_history"
    history.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)

    with runtime.running_assistant(cfg, progress, supervised=True) as (assistant, loop):
        turns = InterruptibleTurns(assistant, loop)
        chat = Chat(cfg, turns.ask)
        # The disclaimer is the conversation's first reply too, but a first turn that
        # Ctrl-C stopped waiting for never shows it.
        print(
            "LDN-bot: answers from one article (Medical News Today, 2019), not medical advice;"
            " dose questions go to your doctor. Type /help for commands."
        )
        armed = False  # the last key was a Ctrl-C: another at an empty prompt leaves
        while True:
            try:
                line = input("you> ")
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                typed = readline.get_line_buffer()
                print()
                if armed and not typed:
                    break
                armed = True
                if not typed:
                    print("(Ctrl-C again or Ctrl-D to leave)")
                continue
            armed = False
            if not chat.handle(line):
                break
        print(GOODBYE)
        turns.finish()
    with contextlib.suppress(OSError):
        readline.write_history_file(history)
    return 0


class InterruptibleTurns:
    """Turns of the terminal chat that Ctrl-C stops waiting for.

    While a turn runs, SIGINT is the event loop's (`add_signal_handler`): it never raises
    `KeyboardInterrupt` inside Rasa's code (which would leave the conversation half
    written). The turn goes on in the background and its replies are dropped; the next
    turn of the conversation waits for it (Rasa's lock), and `finish()` for all of them.
    """

    def __init__(self, assistant: Assistant, loop: asyncio.AbstractEventLoop) -> None:
        self.assistant = assistant
        self.loop = loop
        self.dropped: set[asyncio.Task[TurnResult]] = set()

    def ask(self, text: str, sender: str) -> TurnResult | None:
        """The turn's result, or None when Ctrl-C stopped the wait."""
        task = self.loop.create_task(self.assistant.ask(text, sender))
        try:
            self.loop.run_until_complete(self._wait(task))
        finally:
            # uvloop (Rasa's loop) leaves its own handler in place when the loop is not
            # running: the prompt's Ctrl-C must raise KeyboardInterrupt again.
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if task.done():
            return task.result()
        print()  # after the terminal's "^C"
        self.dropped.add(task)
        task.add_done_callback(self.dropped.discard)
        return None

    @staticmethod
    async def _wait(task: asyncio.Task[TurnResult]) -> None:
        """Until the turn ends or Ctrl-C comes (the handler is added and removed while
        the loop runs: uvloop ignores a removal while it does not)."""
        loop = asyncio.get_running_loop()
        interrupted = loop.create_future()

        def on_sigint() -> None:
            if not interrupted.done():
                interrupted.set_result(None)

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            await asyncio.wait({task, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            interrupted.cancel()

    def finish(self, timeout: float = 30.0) -> None:
        """Let the turns Ctrl-C left behind end (their conversation is stored)."""
        if self.dropped:
            self.loop.run_until_complete(asyncio.wait(set(self.dropped), timeout=timeout))


class Chat:
    """What the terminal chat does with one line (no terminal here: testable as it is)."""

    def __init__(
        self,
        cfg: Settings,
        ask: Callable[[str, str], TurnResult | None],
        out: Callable[[str], None] = print,
    ) -> None:
        self.cfg = cfg
        self.ask = ask
        self.out = out
        self.sender = _chat_sender()
        self.debug = False
        self.citations: list[str] | None = None  # None: no reply yet
        self.choices: tuple[tuple[str, str], ...] = ()

    def handle(self, line: str) -> bool:
        """Act on `line`; False when the person leaves."""
        text = line.strip()
        if not text:
            return True  # an empty line sends nothing
        if text.startswith("/"):
            return self.command(text)
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            title, payload = self.choices[int(text) - 1]
            self.out(f"(you chose: {title})")
            self.turn(payload)
            return True
        self.turn(line)
        return True

    def command(self, text: str) -> bool:
        """Run a /command; False when it is /quit or /exit."""
        command = text.split()[0].lower()
        if command in {"/quit", "/exit"}:
            return False
        if command == "/help":
            self.out(CHAT_HELP)
        elif command == "/restart":
            self.sender, self.citations, self.choices = _chat_sender(), None, ()
            self.out("(new conversation)")
        elif command == "/sources":
            self.out(_sources(self.cfg, self.citations))
        elif command == "/debug":
            self.debug = not self.debug
            self.out(f"(debug {'on' if self.debug else 'off'})")
        else:
            self.out(f"unknown command {command!r}, see /help")
        return True

    def turn(self, text: str) -> None:
        """Ask `text`, then print the replies, numbered quick replies and any debug lines."""
        result = self.ask(text, self.sender)
        if result is None:
            self.out("(stopped waiting: that answer is dropped)")
            return
        for reply in result.replies:
            self.out(_wrap(reply))
        self.citations = list(result.citations)
        self.choices = result.buttons
        if self.choices:
            self.out(
                "     "
                + "   ".join(f"[{n}] {title}" for n, (title, _) in enumerate(self.choices, 1))
            )
        if self.debug:
            self.out(_debug_line(result))


def _chat_sender() -> str:
    return f"chat-{uuid.uuid4().hex}"


def _debug_line(result: TurnResult) -> str:
    confidence = "-" if result.confidence is None else f"{result.confidence:.2f}"
    guard = result.guard_rule or "none"
    if result.guard_rule and result.guard_source:
        guard += f" ({result.guard_source})"
    return (
        f"     · route {result.route}, intent {result.intent or '-'} ({confidence}), "
        f"guard rule {guard}"
    )


def _wrap(reply: str, width: int = 100) -> str:
    """A reply as an indented block, each paragraph wrapped on its own."""
    paragraphs = [p for p in reply.split("\n") if p.strip()]
    lines = [
        textwrap.fill(p, width=width, initial_indent="     ", subsequent_indent="     ")
        for p in paragraphs
    ]
    return "bot> " + "\n".join(lines)[5:]


def _sources(cfg: Settings, citations: Sequence[str] | None) -> str:
    """The sentences the last reply quoted, with their ids and the article's address."""
    if citations is None:
        return "No answer yet: ask a question first."
    if not citations:
        return "The last reply quoted nothing from the article."
    from ldn_bot.knowledge.base import knowledge_base

    kb = knowledge_base(cfg.article_path)
    quoted = [f"[{unit}] {kb.unit_text(unit)}" for unit in citations]
    return "\n".join([*quoted, f"From: {kb.article.citation} {ARTICLE_URL}"])
