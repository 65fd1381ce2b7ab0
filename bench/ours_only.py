"""Figures of ldn-bot alone, with no stock baseline: the guard detector, the NLU graph,
`ldn-bot ask --json` and the web widget's reply time."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.environment import BIN, ENV, ROOT, log
from bench.load import questions
from bench.stats import percentile


def _corpus(*names: str) -> list[str]:
    return [
        item["text"]
        for name in names
        for item in yaml.safe_load((ROOT / "tests" / "data" / name).read_text())["cases"]
    ]


def guard_timing() -> dict[str, float]:
    """The guard detector in-process on every phrasing of the guard corpora, each read afresh."""
    sys.path.insert(0, str(ROOT / "src"))
    from ldn_bot.analysis import analyse
    from ldn_bot.guard.detector import detect

    texts = _corpus("guard_holdout.yml", "guard_redteam.yml", "guard_benign.yml")
    for text in texts[:50]:
        detect(text)  # warm the caches and lazy loads
    analyse.cache_clear()  # but every timed message is read afresh
    timings = []
    for text in texts:
        started = time.perf_counter()
        detect(text)
        timings.append(time.perf_counter() - started)
    return {
        "messages": len(texts),
        "mean_ms": statistics.fmean(timings) * 1000,
        "p99_ms": percentile(timings, 99) * 1000,
    }


def nlu_timing(count: int = 1000) -> dict[str, float]:
    """The whole NLU graph of the trained model (featurizers, classifier, scope, input,
    language and guard steps) in-process, `Agent.parse_message` on `count` messages of
    the corpora: time per message and spaCy parses per message (one reading per message,
    `ldn_bot.analysis`: 1, or 2 when the words-only reading differs)."""
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from ldn_bot.settings import Settings
    from rasa_project.runtime import prepare_environment

    cfg = Settings.from_env()
    prepare_environment(cfg)  # as `ldn-bot` does, before Rasa and TensorFlow load

    from rasa.core.agent import Agent
    from spacy.language import Language

    from ldn_bot.analysis import analyse
    from rasa_project.training import ensure_model, quiet_rasa

    quiet_rasa(cfg)
    agent = Agent.load(str(ensure_model(cfg)))
    texts = _corpus("guard_benign.yml", "guard_redteam.yml", "guard_holdout.yml")
    texts = [*questions(), *texts][:count]

    async def parse_all(timed: list[str]) -> list[float]:
        timings = []
        for text in timed:
            started = time.perf_counter()
            await agent.parse_message(text)
            timings.append(time.perf_counter() - started)
        return timings

    asyncio.run(parse_all(texts[:50]))  # lazy loads
    analyse.cache_clear()
    parses = 0
    call, pipe = Language.__call__, Language.pipe

    def counted_call(self: Language, *args: Any, **kwargs: Any) -> Any:
        nonlocal parses
        parses += 1
        return call(self, *args, **kwargs)

    def counted_pipe(self: Language, *args: Any, **kwargs: Any) -> Any:
        nonlocal parses
        for doc in pipe(self, *args, **kwargs):
            parses += 1
            yield doc

    Language.__call__, Language.pipe = counted_call, counted_pipe  # type: ignore[method-assign]
    try:
        timings = asyncio.run(parse_all(texts))
    finally:
        Language.__call__, Language.pipe = call, pipe  # type: ignore[method-assign]
    return {
        "messages": len(texts),
        "mean_ms": statistics.fmean(timings) * 1000,
        "p99_ms": percentile(timings, 99) * 1000,
        "parses_per_message": parses / len(texts),
    }


def ask_throughput(var: Path, count: int = 500) -> dict[str, float]:
    """`ldn-bot ask --json` on `count` held-out guard questions piped in at once.

    Args:
        var: The var folder for this `ask` process (its own ledger).
        count: How many questions to ask.

    Returns:
        Questions answered, steady rate after the first answer, wall time and wall rate.
    """
    cases = yaml.safe_load((ROOT / "tests" / "data" / "guard_holdout.yml").read_text())["cases"]
    asked = [case["text"].replace("\n", " ") for case in cases][:count]
    started = time.monotonic()
    process = subprocess.Popen(
        [str(BIN / "ldn-bot"), "ask", "--json"],
        cwd=ROOT,
        env={**ENV, "LDN_BOT_VAR": str(var)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("\n".join(asked) + "\n")
    process.stdin.close()
    first = None
    lines = 0
    for _line in process.stdout:
        lines += 1
        first = first or time.monotonic()
    process.wait()
    done = time.monotonic()
    steady = (done - first) if first else float("nan")
    return {
        "questions": lines,
        "steady_qps": (lines - 1) / steady if steady else float("nan"),
        "wall_s": done - started,
        "wall_qps": lines / (done - started),
    }


def widget_reply_time() -> dict[str, Any] | None:
    """Send-to-rendered time in the web widget (real headless Chromium, `serve`) next to the
    REST latency of the same questions, as tests/e2e/test_browser_reply_time.py measures and
    writes it."""
    out = ROOT / "reports" / "browser" / "reply_time.json"
    with tempfile.TemporaryDirectory(prefix="ldn-bench-browser-") as tmp:
        done = subprocess.run(
            [
                *(str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", f"--basetemp={tmp}"),
                "tests/e2e/test_browser_reply_time.py",
            ],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0 or not out.exists():
        log(f"widget reply time not measured (pytest exit {done.returncode})")
        return None
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures
