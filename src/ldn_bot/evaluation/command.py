"""`python -m rasa_project.evaluate` (`make eval`): every set end to end, then the detector and NLU.

Prints one table (set | n | referral recall | false referrals | false emergencies |
other, each rate with its Wilson 95% interval), then the failures per set, and
writes everything, every turn included, to reports/eval.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ldn_bot.assistant import Runtime
from ldn_bot.evaluation.guard import (
    INDEPENDENT_FILE,
    GuardReport,
    guard_report,
    load_cases,
    nlu_cross_validation,
    score,
)
from ldn_bot.evaluation.metrics import Rate, SetScore, score_set
from ldn_bot.evaluation.report import failures, table
from ldn_bot.evaluation.run import run_sets
from ldn_bot.evaluation.sets import EvalSet, default_sources, extra_sources, load_available
from ldn_bot.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m ldn_bot.evaluation`."""
    parser = argparse.ArgumentParser(prog="python -m rasa_project.evaluate", description=__doc__)
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="NAME",
        help="run only this set (repeatable): redteam, benign, holdout, conversations, dev, "
        "articles, languages, or the stem of a --questions/--conversations file; "
        "skips the detector figures and the cross-validation",
    )
    parser.add_argument(
        "--questions",
        action="append",
        default=[],
        type=Path,
        metavar="FILE.jsonl",
        help="also score this file of the dev set's format (text, refer, routes)",
    )
    parser.add_argument(
        "--conversations",
        action="append",
        default=[],
        type=Path,
        metavar="FILE.yml",
        help="also score this file of tests/data/conversations.yml's format",
    )
    parser.add_argument("--no-cv", action="store_true", help="skip the NLU cross-validation")
    parser.add_argument(
        "--guard-only",
        action="store_true",
        help="only the detector figures (no model, no assistant, no cross-validation)",
    )
    parser.add_argument(
        "--failures", type=int, default=10, metavar="N", help="failures shown per set (-1: all)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="dialogues at once")
    parser.add_argument("--out", type=Path, help="the JSON report (default reports/eval.json)")
    return parser


def _progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def _detector_figures() -> dict[str, Any]:
    """The guard detector alone, in-process (seconds, no model)."""
    figures: dict[str, Any] = {}
    sets: list[tuple[str, str, GuardReport]] = [
        ("redteam+benign", "project red-team + benign sets", guard_report()),
        ("holdout", "independent hold-out set", score(load_cases(INDEPENDENT_FILE))),
    ]
    print("Guard detector alone (in-process, no model):")
    for key, title, report in sets:
        recall = Rate(report.must_catch - len(report.missed), report.must_catch)
        refused = Rate(len(report.refused), report.must_pass)
        print(f"  {title}: recall {recall}; false refusals {refused}; ", end="")
        print(f"{report.ms_per_message:.2f} ms per message")
        figures[key] = {
            "recall": recall.as_json(),
            "false_refusals": refused.as_json(),
            "ms_per_message": round(report.ms_per_message, 3),
            "missed": [[case.expect.value, case.text] for case in report.missed],
            "refused": [case.text for case in report.refused],
        }
    return figures


def _load_sets(
    cfg: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser
) -> list[EvalSet]:
    """The sets the arguments name (all by default), those whose files exist."""
    for path in [*args.questions, *args.conversations]:
        if not path.is_file():
            parser.error(f"{path}: no such file")
    sources = default_sources(cfg.root) + extra_sources(args.questions, args.conversations)
    if args.sets:
        names = [source.name for source in sources]
        if unknown := [name for name in args.sets if name not in names]:
            parser.error(f"unknown set(s) {unknown}; choose from {names}")
        sources = [source for source in sources if source.name in args.sets]
    loaded, missing = load_available(sources)
    for source in missing:
        print(f"{source.name}: {source.path} not found, skipped")
    return loaded


def main(argv: Sequence[str] | None, *, runtime: Runtime, cfg: Settings) -> int:
    """`make eval`: every set end to end through `runtime`'s assistant, the guard
    detector alone, NLU cross-validation; figures printed and written to JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.monotonic()
    full_run = not args.sets
    result: dict[str, Any] = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if full_run or args.guard_only:
        result["detector"] = _detector_figures()
    if not args.guard_only:
        sets = _load_sets(cfg, args, parser)
        outcomes = run_sets(
            cfg, sets, runtime=runtime, concurrency=args.concurrency, progress=_progress
        )
        scores: list[SetScore] = [score_set(s.name, outcomes[s.name]) for s in sets]
        multi_turn = frozenset(
            s.name for s in sets if any(len(d.turns) > 1 and d.turns[0].scored for d in s.dialogues)
        )
        print("\nEnd to end through the assistant (rate [Wilson 95% interval] k/n):")
        print(table(scores, multi_turn))
        print("\nFailures per set:")
        for set_score in scores:
            print(failures(set_score, limit=args.failures))
        result["sets"] = [set_score.as_json() for set_score in scores]
        result["outcomes"] = {
            name: [o.as_json() for dialogue in dialogues for o in dialogue]
            for name, dialogues in outcomes.items()
        }
        result["end_to_end_seconds"] = round(time.monotonic() - started, 1)
        print(f"\nEnd-to-end evaluation took {time.monotonic() - started:.0f} s.")
    if full_run and not args.no_cv and not args.guard_only:
        _progress("NLU 5-fold cross-validation (several minutes; --no-cv skips it)...")
        cv = nlu_cross_validation(cfg)
        result["nlu_cross_validation"] = cv
        print(
            f"NLU intent F1, 5-fold cross-validation: macro {cv['macro_f1']:.3f}, "
            f"weighted {cv['weighted_f1']:.3f} (accuracy {cv['accuracy']:.3f})"
        )
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    out = args.out or cfg.root / "reports" / "eval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"Elapsed {result['elapsed_seconds']:.0f} s; everything in {out}")
    return 0
