"""The commands that are not a conversation: train, ask, forget, purge and report."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import textwrap
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ldn_bot.assistant import Assistant, Runtime, TurnResult
from ldn_bot.cli.parser import UsageError
from ldn_bot.cli.progress import progress
from ldn_bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ASK_CONCURRENCY = 4
_DISCLAIMER = frozenset({"utter_disclaimer"})


def cmd_train(cfg: Settings, _args: argparse.Namespace, runtime: Runtime) -> int:
    """Train the model unless the one for the current data and config exists."""
    existed = runtime.model_path(cfg).exists()
    path = runtime.ensure_model(cfg, progress)
    print(f"{'Up to date' if existed else 'Trained'}: {path.relative_to(cfg.root)}")
    return 0


def _questions(args: argparse.Namespace) -> Iterable[str]:
    """The questions of the arguments, else of stdin (one per line, any bytes)."""
    if args.questions:
        yield from args.questions
        return
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def cmd_ask(cfg: Settings, args: argparse.Namespace, runtime: Runtime) -> int:
    """One JSON object (or readable block) per question, in order.

    Lines are separate conversations unless `--session` is given, so up to
    `ASK_CONCURRENCY` of them are answered at once (the action server works while Rasa
    parses the next); the output keeps the input's order.
    """
    disclaimer_shown = False

    def emit(result: TurnResult) -> None:
        nonlocal disclaimer_shown
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
            return
        # Each line is a conversation of its own, and each starts with the disclaimer:
        # shown once, at the top, not under every question.
        disclaimers = [r for r in result.replies if r not in result.shown(without=_DISCLAIMER)]
        if disclaimers and not disclaimer_shown:
            print(f"{disclaimers[0]}\n")
            disclaimer_shown = True
        print(f"> {result.question}")
        for reply in result.shown(without=_DISCLAIMER):
            print(textwrap.indent(reply, "  "))
        print(f"  [{result.route}]\n", flush=True)

    async def answer_all(assistant: Assistant) -> None:
        loop = asyncio.get_running_loop()
        lines = iter(_questions(args))
        in_flight = 1 if args.session else ASK_CONCURRENCY
        pending: collections.deque[asyncio.Future[TurnResult]] = collections.deque()
        while (line := await loop.run_in_executor(None, next, lines, None)) is not None:
            sender = args.session or f"ask-{uuid.uuid4().hex}"
            pending.append(asyncio.ensure_future(assistant.ask(line, sender)))
            while pending and (pending[0].done() or len(pending) >= in_flight):
                emit(await pending.popleft())
        while pending:
            emit(await pending.popleft())

    quiet = args.json  # stdout is JSON: no progress lines at all
    with runtime.running_assistant(cfg, (lambda _m: None) if quiet else progress) as (
        assistant,
        loop,
    ):
        loop.run_until_complete(answer_all(assistant))
    return 0


def _store(cfg: Settings) -> Engine:
    """The conversation and ledger database, its ledger tables brought up to date."""
    from ldn_bot.ledger.engine import engine_for
    from ldn_bot.ledger.schema import migrate

    engine = engine_for(cfg.conversations_url)
    migrate(engine)
    return engine


def cmd_forget(cfg: Settings, args: argparse.Namespace, _runtime: Runtime) -> int:
    """Delete one person's conversations, ledger rows, feedback votes and set-aside items."""
    from ldn_bot.ledger.conversations import forget

    removed = forget(
        _store(cfg), args.sender_id, salt=cfg.salt(), quarantine_dir=cfg.quarantine_dir
    )
    if not (removed.events or removed.turns or removed.votes or removed.quarantined):
        print(f"Nothing stored for {args.sender_id!r}.")
    else:
        print(f"Forgot {args.sender_id!r}: removed {removed}.")
    return 0


def cmd_purge(cfg: Settings, args: argparse.Namespace, _runtime: Runtime) -> int:
    """Delete everything older than the retention period, after saying what and asking."""
    from ldn_bot.ledger.conversations import purge, purge_preview

    days = cfg.retention_days if args.days is None else args.days
    if days < 0:
        raise UsageError(f"--days must be 0 or more, not {days}")
    before = datetime.now(timezone.utc) - timedelta(days=days)
    engine = _store(cfg)
    found = purge_preview(engine, before=before, quarantine_dir=cfg.quarantine_dir)
    print(f"Older than {days} days (before {before:%Y-%m-%d %H:%M} UTC): {found}.")
    if not (found.events or found.turns or found.votes or found.quarantined):
        print("Nothing to delete.")
        return 0
    if args.dry_run:
        print("Dry run: nothing deleted.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("Not deleted: confirm with --yes (no terminal to ask on).", file=sys.stderr)
            return 1
        try:
            answer = input("Delete them for good? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing deleted.")
            return 1
    removed = purge(engine, before=before, quarantine_dir=cfg.quarantine_dir)
    print(f"Purged: removed {removed}.")
    return 0


def cmd_report(cfg: Settings, args: argparse.Namespace, _runtime: Runtime) -> int:
    """The HTML report and a short summary in the terminal; with --export-nlu, the
    unanswered questions as candidate NLU examples (and the HTML only when --out is given)."""
    from ldn_bot.ledger.report import collect, render_html, summary_text
    from ldn_bot.ledger.report.model import TOP_QUESTIONS
    from ldn_bot.ledger.report.nlu_export import nlu_yaml

    export = Path(args.export_nlu) if args.export_nlu else None
    if export is not None:
        _check_export_path(cfg, export)
    html_out = Path(args.out) if args.out else (None if export else Path("report.html"))
    data = collect(_store(cfg), since=args.since, top=EXPORT_QUESTIONS if export else TOP_QUESTIONS)
    if html_out is not None:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render_html(data), encoding="utf-8")
    print(summary_text(data))
    if html_out is not None:
        print(f"Report written to {html_out}")
    if export is not None:
        export.parent.mkdir(parents=True, exist_ok=True)
        export.write_text(nlu_yaml(data), encoding="utf-8")
        print(
            f"{len(data.questions)} candidate NLU example(s) written to {export}: "
            "label them, then move the ones you keep into data/ by hand"
        )
    return 0


EXPORT_QUESTIONS = 10_000  # per group: the export lists every unanswered question


def _check_export_path(cfg: Settings, path: Path) -> None:
    """The export is a worklist, never training data: not in data/ (which `train` reads),
    not a folder."""
    target = path.resolve()
    data_dir = (cfg.root / "data").resolve()
    if target == data_dir or data_dir in target.parents:
        raise UsageError(
            f"--export-nlu: {path} is in {data_dir}, which training reads; write it "
            "elsewhere and move the examples you label by hand"
        )
    if target.is_dir():
        raise UsageError(f"--export-nlu: {path} is a folder; give a file name")
    if target.suffix not in {".yml", ".yaml"}:
        raise UsageError(f"--export-nlu: {path} should end in .yml or .yaml (Rasa YAML)")
