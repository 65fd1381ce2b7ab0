"""`make bench`: ldn-bot against the stock Rasa assistant (`rasa init`), in the same run.

Both run as a user runs them, on this machine: a Rasa server with its own action server
and a SQLite tracker store, spoken to over the REST channel. Measurements alternate
between the two so that machine drift affects both. Prints a table and writes it as JSON
(`reports/bench.json` by default). Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.environment import BIN, ENV, ROOT, machine
from bench.measure import measure
from bench.ours_only import ask_throughput, guard_timing, nlu_timing, widget_reply_time
from bench.report import print_report, table, write_report


def parser() -> argparse.ArgumentParser:
    """The command line of `make bench` (`BENCH_ARGS`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="soak size per assistant")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per figure")
    parser.add_argument("--out", default=str(ROOT / "reports" / "bench.json"))
    parser.add_argument("--skip-training", action="store_true", help="skip the training times")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument(
        "--core-only",
        action="store_true",
        help="only the figures without a baseline: guard detector and `ask` throughput",
    )
    return parser


def core_only() -> None:
    """Print, as JSON, the figures that need no baseline (guard, NLU graph, `ask`)."""
    with tempfile.TemporaryDirectory(prefix="ldn-bench-") as work:
        subprocess.run([str(BIN / "ldn-bot"), "train"], cwd=ROOT, env=ENV, check=True)
        core = {
            "guard": guard_timing(),
            "nlu": nlu_timing(),
            "ask": ask_throughput(Path(work) / "var"),
        }
    print(json.dumps({"machine": machine(), **core}, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench as the command line asks; 0 when it finished."""
    args = parser().parse_args(argv)
    if args.core_only:
        core_only()
        return 0
    report = measure(
        messages=args.messages, rounds=args.rounds, skip_training=args.skip_training, keep=args.keep
    )
    report["widget"] = widget_reply_time()
    report["table"] = table(report)
    out = Path(args.out)
    write_report(report, out)
    print_report(report, out=out, messages=args.messages)
    return 0
