"""The comparison itself: both assistants through the same steps, alternating, so that
machine drift affects both. Returns the raw figures; `bench.report` turns them into a table."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.environment import BIN, ENV, ROOT, log, machine
from bench.load import Load, converse, long_conversation, run
from bench.ours_only import ask_throughput, guard_timing, nlu_timing
from bench.processes import Assistant, init_stock, start_ours, start_stock, train_ours, train_stock
from bench.stats import percentile


def measure(*, messages: int, rounds: int, skip_training: bool, keep: bool) -> dict[str, Any]:
    """Train, start, load and soak ldn-bot and the stock assistant, then time ldn-bot alone.

    Args:
        messages: Soak size per assistant (8 users share it).
        rounds: Alternating rounds per figure (cold start; twice as many for latency).
        skip_training: Leave out the training-from-scratch times.
        keep: Keep the temporary working folder (logs, stock project) for a look.

    Returns:
        `{"machine": ..., "messages": ..., "results": {"ldn-bot": {...}, "stock": {...}}}`.
    """
    work = Path(tempfile.mkdtemp(prefix="ldn-bench-"))
    ours_dir = work / "ours"
    ours_dir.mkdir()
    log(f"working in {work}")
    log("training our model if needed, and generating the stock assistant (rasa init)")
    subprocess.run([str(BIN / "ldn-bot"), "train"], cwd=ROOT, env=ENV, check=True)
    ours = Assistant("ldn-bot", ours_dir, start_ours, train_ours)
    stock = Assistant("stock", init_stock(work), start_stock, train_stock)
    pair = (ours, stock)
    results: dict[str, dict[str, Any]] = {a.name: {} for a in pair}

    def each(label: str, step: Callable[[Assistant], Any], repeats: int = 1) -> None:
        for round_ in range(repeats):
            for assistant in pair if round_ % 2 == 0 else pair[::-1]:
                log(f"{label}: {assistant.name} (round {round_ + 1}/{repeats})")
                step(assistant)

    try:
        if not skip_training:
            for assistant in pair:
                out = work / f"train-{assistant.name}"
                log(f"training from scratch: {assistant.name}")
                started = time.monotonic()
                assistant.train(assistant, out)
                results[assistant.name]["train_s"] = time.monotonic() - started

        cold: dict[str, list[float]] = {a.name: [] for a in pair}
        each("cold start", lambda a: cold[a.name].append(a.launch()), repeats=rounds)
        for assistant in pair:
            results[assistant.name]["cold_start_s"] = statistics.median(cold[assistant.name])

        warm: dict[str, Load] = {a.name: Load() for a in pair}

        def warm_up(a: Assistant) -> None:
            warm[a.name] = run(
                lambda s: converse(s, a.url, users=8, messages=25, turns_per_sender=10)
            )

        each("warm-up", warm_up)
        for assistant in pair:
            results[assistant.name]["rss_warm_mb"] = assistant.memory()

        single: dict[str, list[float]] = {a.name: [] for a in pair}
        concurrent: dict[str, list[Load]] = {a.name: [] for a in pair}

        def one_user(a: Assistant) -> None:
            load = run(lambda s: converse(s, a.url, users=1, messages=60, turns_per_sender=10))
            single[a.name].extend(load.latencies)

        def eight_users(a: Assistant) -> None:
            load = run(lambda s: converse(s, a.url, users=8, messages=40, turns_per_sender=10))
            concurrent[a.name].append(load)

        each("1 user", one_user, repeats=rounds * 2)
        each("8 users", eight_users, repeats=rounds * 2)

        longest: dict[str, list[float]] = {}

        def long(a: Assistant) -> None:
            longest[a.name] = run(lambda s: long_conversation(s, a.url, 200))

        each("200-message conversation", long)

        for assistant in pair:
            results[assistant.name].update(
                _latency_figures(
                    single[assistant.name], concurrent[assistant.name], longest[assistant.name]
                )
            )

        def soak(a: Assistant) -> None:
            per_user = messages // 8
            load = run(
                lambda s: converse(s, a.url, users=8, messages=per_user, turns_per_sender=20)
            )
            results[a.name]["soak_messages"] = len(load.latencies)
            results[a.name]["soak_errors"] = load.errors
            results[a.name]["soak_silent"] = load.silent
            results[a.name]["soak_mps"] = load.rate
            results[a.name]["rss_after_soak_mb"] = a.memory()

        each(f"{messages} messages", soak)
    finally:
        for assistant in pair:
            assistant.stop()

    log("guard detector and NLU graph timing, and `ldn-bot ask --json` on 500 questions")
    results["ldn-bot"]["guard"] = guard_timing()
    results["ldn-bot"]["nlu"] = nlu_timing()
    results["ldn-bot"]["ask"] = ask_throughput(ours_dir / "ask-var")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"machine": machine(), "messages": messages, "results": results}


def _latency_figures(
    single: list[float], loads: list[Load], sequence: list[float]
) -> dict[str, float | int]:
    """Percentiles of one user and of 8 users, and the growth along one long conversation."""
    concurrent = [x for load in loads for x in load.latencies]
    return {
        "p50_1user_ms": percentile(single, 50) * 1000,
        "p95_1user_ms": percentile(single, 95) * 1000,
        "p99_1user_ms": percentile(single, 99) * 1000,
        "p50_8users_ms": percentile(concurrent, 50) * 1000,
        "p95_8users_ms": percentile(concurrent, 95) * 1000,
        "p99_8users_ms": percentile(concurrent, 99) * 1000,
        "throughput_8users_mps": statistics.median(load.rate for load in loads),
        "errors_8users": sum(load.errors for load in loads),
        "silent_8users": sum(load.silent for load in loads),
        "msg1_ms": sequence[0] * 1000,
        "msg200_ms": sequence[-1] * 1000,
        "msg1_10_median_ms": statistics.median(sequence[:10]) * 1000,
        "msg191_200_median_ms": statistics.median(sequence[-10:]) * 1000,
    }
