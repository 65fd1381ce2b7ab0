"""`make bench`: ldn-bot against the stock Rasa assistant (`rasa init`), in the same run.

Both run as a user runs them, on this machine: a Rasa server with its own action server
and a SQLite tracker store, spoken to over the REST channel. Measurements alternate
between the two so that machine drift affects both. Prints a table and writes it as JSON
(`reports/bench.json` by default). Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}

# What people ask: article questions (custom actions), doses (guard), small talk, off-topic.
QUESTIONS = [
    line
    for line in (ROOT / "tests" / "data" / "load_questions.txt").read_text().splitlines()
    if line and not line.startswith("#")
]


def log(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Assistant:
    """One assistant under test: how to train it, start it and find its processes."""

    name: str
    folder: Path
    start: Callable[[Assistant, int, int], list[subprocess.Popen[bytes]]]
    train: Callable[[Assistant, Path], None]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def launch(self) -> float:
        """Start it; seconds from process start to the first reply."""
        self.stop()
        self.port, action_port = free_port(), free_port()
        started = time.monotonic()
        self.processes = self.start(self, self.port, action_port)
        deadline = started + 600
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"{self.name} exited during start; see {self.folder}/*.log")
            with contextlib.suppress(OSError, ValueError):
                body = json.dumps({"sender": f"cold-{uuid.uuid4().hex}", "message": "hello"})
                request = urllib.request.Request(
                    self.url, body.encode(), {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as reply:
                    if json.loads(reply.read()):
                        return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within 600 s")

    def memory(self) -> dict[str, float]:
        """RSS of the Rasa server and of the action server, in MB."""
        server = self.processes[0].pid
        if self.name == "ldn-bot":  # serve starts the action server as its child
            actions = [p for p in children(server) if "action_server" in _cmdline(p)]
            action_pid = actions[0] if actions else None
        else:
            action_pid = self.processes[1].pid
        return {
            "server": rss_mb(server),
            "actions": rss_mb(action_pid) if action_pid else float("nan"),
        }

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            if process.poll() is None:
                process.kill()
        self.processes = []


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


# --- the two assistants ------------------------------------------------------------------------


def start_ours(assistant: Assistant, port: int, action_port: int) -> list[subprocess.Popen[bytes]]:
    var = assistant.folder / "var"
    shutil.rmtree(var, ignore_errors=True)
    log_file = open(assistant.folder / "serve.log", "ab")  # noqa: SIM115 (lives with the process)
    return [
        subprocess.Popen(
            [str(BIN / "ldn-bot"), "serve", "--port", str(port), "--action-port", str(action_port)],
            cwd=ROOT,
            env={**ENV, "LDN_BOT_VAR": str(var)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    ]


def train_ours(assistant: Assistant, out: Path) -> None:
    script = (
        "from ldn_bot.settings import settings; from rasa.api import train; c = settings(); "
        f"r = train(domain=str(c.domain_path), config=str(c.config_path), "
        f"training_files=[str(p) for p in c.training_files], output={str(out)!r}); "
        "raise SystemExit(r.code)"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")},
        check=True,
        capture_output=True,
    )


def init_stock(folder: Path) -> Path:
    """`rasa init --no-prompt` in a temporary folder, with a SQLite tracker store."""
    project = folder / "stock"
    project.mkdir()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        cwd=folder,
        env={**ENV, "RASA_CACHE_DIRECTORY": str(folder / "stock-cache")},
        check=True,
        capture_output=True,
    )
    endpoints = {
        "action_endpoint": {"url": "http://127.0.0.1:5055/webhook"},
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(project / "tracker.db")},
    }
    (project / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (project / "credentials.yml").write_text("rest:\n")
    return project


def start_stock(assistant: Assistant, port: int, action_port: int) -> list[subprocess.Popen[bytes]]:
    project = assistant.folder
    endpoints = yaml.safe_load((project / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{action_port}/webhook"
    (project / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (project / "tracker.db").unlink(missing_ok=True)
    server_log = open(project / "rasa.log", "ab")  # noqa: SIM115
    actions_log = open(project / "actions.log", "ab")  # noqa: SIM115
    return [
        subprocess.Popen(
            [
                *(str(BIN / "rasa"), "run", "--port", str(port)),
                *("--endpoints", "endpoints.yml", "--credentials", "credentials.yml"),
                *("--model", "models"),
            ],
            cwd=project,
            env=ENV,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(BIN / "rasa"), "run", "actions", "--port", str(action_port)],
            cwd=project,
            env=ENV,
            stdout=actions_log,
            stderr=subprocess.STDOUT,
        ),
    ]


def train_stock(assistant: Assistant, out: Path) -> None:
    subprocess.run(
        [str(BIN / "rasa"), "train", "--out", str(out), "--force"],
        cwd=assistant.folder,
        env={**ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")},
        check=True,
        capture_output=True,
    )


# --- load ------------------------------------------------------------------------------------


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # HTTP errors, timeouts, refused connections
    silent: int = 0  # answered 200 with no reply at all
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")


async def converse(
    session: aiohttp.ClientSession, url: str, *, users: int, messages: int, turns_per_sender: int
) -> Load:
    """`users` people at once, each sending `messages` in conversations of `turns_per_sender`."""
    load = Load()

    async def person(index: int) -> None:
        sender = ""
        for turn in range(messages):
            if turn % turns_per_sender == 0:
                sender = f"bench-{index}-{uuid.uuid4().hex}"
            body = {"sender": sender, "message": QUESTIONS[(index + turn) % len(QUESTIONS)]}
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as reply:
                    answer = await reply.json() if reply.status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError):
                answer = None
            if answer is None:
                load.errors += 1
                continue
            load.latencies.append(time.perf_counter() - started)
            load.silent += not answer

    started = time.perf_counter()
    await asyncio.gather(*(person(i) for i in range(users)))
    load.seconds = time.perf_counter() - started
    return load


async def long_conversation(session: aiohttp.ClientSession, url: str, length: int) -> list[float]:
    sender, latencies = f"long-{uuid.uuid4().hex}", []
    for turn in range(length):
        started = time.perf_counter()
        async with session.post(
            url, json={"sender": sender, "message": QUESTIONS[turn % len(QUESTIONS)]}
        ) as reply:
            await reply.read()
        latencies.append(time.perf_counter() - started)
    return latencies


@contextlib.asynccontextmanager
async def client() -> Any:
    # Keep-alive shorter than Sanic's default 5 s so neither server closes a connection
    # the client is about to reuse.
    connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=3)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session


def run(coroutine_factory: Callable[[aiohttp.ClientSession], Any]) -> Any:
    async def main() -> Any:
        async with client() as session:
            return await coroutine_factory(session)

    return asyncio.run(main())


# --- in-process figures (ours only) -------------------------------------------------------------


def guard_timing() -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from ldn_bot.analysis import analyse
    from ldn_bot.guard.detector import detect

    texts = [
        item["text"]
        for name in ("guard_holdout.yml", "guard_redteam.yml", "guard_benign.yml")
        for item in yaml.safe_load((ROOT / "tests" / "data" / name).read_text())["cases"]
    ]
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
    from rasa.core.agent import Agent
    from spacy.language import Language

    from ldn_bot.analysis import analyse
    from ldn_bot.runtime import ensure_model, quiet_rasa
    from ldn_bot.settings import settings

    quiet_rasa()
    agent = Agent.load(str(ensure_model(settings())))
    texts = [
        item["text"]
        for name in ("guard_benign.yml", "guard_redteam.yml", "guard_holdout.yml")
        for item in yaml.safe_load((ROOT / "tests" / "data" / name).read_text())["cases"]
    ]
    texts = [*QUESTIONS, *texts][:count]

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
    cases = yaml.safe_load((ROOT / "tests" / "data" / "guard_holdout.yml").read_text())["cases"]
    questions = [case["text"].replace("\n", " ") for case in cases][:count]
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
    process.stdin.write("\n".join(questions) + "\n")
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


# --- the run -------------------------------------------------------------------------------------


def widget_reply_time() -> dict[str, Any] | None:
    """Send-to-rendered time in the web widget (real headless Chromium, `serve`) next to the
    REST latency of the same questions, as tests/test_browser.py measures and writes it."""
    out = ROOT / "reports" / "browser" / "reply_time.json"
    with tempfile.TemporaryDirectory(prefix="ldn-bench-browser-") as tmp:
        done = subprocess.run(
            [
                *(str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", f"--basetemp={tmp}"),
                *("tests/test_browser.py", "-k", "reply_time"),
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


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
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

    def each(label: str, step: Callable[[Assistant], Any], rounds: int = 1) -> None:
        for round_ in range(rounds):
            for assistant in pair if round_ % 2 == 0 else pair[::-1]:
                log(f"{label}: {assistant.name} (round {round_ + 1}/{rounds})")
                step(assistant)

    try:
        if not args.skip_training:
            for assistant in pair:
                out = work / f"train-{assistant.name}"
                log(f"training from scratch: {assistant.name}")
                started = time.monotonic()
                assistant.train(assistant, out)
                results[assistant.name]["train_s"] = time.monotonic() - started

        cold: dict[str, list[float]] = {a.name: [] for a in pair}
        each("cold start", lambda a: cold[a.name].append(a.launch()), rounds=args.rounds)
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

        each("1 user", one_user, rounds=args.rounds * 2)
        each("8 users", eight_users, rounds=args.rounds * 2)

        longest: dict[str, list[float]] = {}

        def long(a: Assistant) -> None:
            longest[a.name] = run(lambda s: long_conversation(s, a.url, 200))

        each("200-message conversation", long)

        for assistant in pair:
            lat = single[assistant.name]
            loads = concurrent[assistant.name]
            lat8 = [x for load in loads for x in load.latencies]
            seq = longest[assistant.name]
            results[assistant.name].update(
                {
                    "p50_1user_ms": percentile(lat, 50) * 1000,
                    "p95_1user_ms": percentile(lat, 95) * 1000,
                    "p99_1user_ms": percentile(lat, 99) * 1000,
                    "p50_8users_ms": percentile(lat8, 50) * 1000,
                    "p95_8users_ms": percentile(lat8, 95) * 1000,
                    "p99_8users_ms": percentile(lat8, 99) * 1000,
                    "throughput_8users_mps": statistics.median(load.rate for load in loads),
                    "errors_8users": sum(load.errors for load in loads),
                    "silent_8users": sum(load.silent for load in loads),
                    "msg1_ms": seq[0] * 1000,
                    "msg200_ms": seq[-1] * 1000,
                    "msg1_10_median_ms": statistics.median(seq[:10]) * 1000,
                    "msg191_200_median_ms": statistics.median(seq[-10:]) * 1000,
                }
            )

        def ten_thousand(a: Assistant) -> None:
            total = args.messages
            per_user = total // 8
            load = run(
                lambda s: converse(s, a.url, users=8, messages=per_user, turns_per_sender=20)
            )
            results[a.name]["soak_messages"] = len(load.latencies)
            results[a.name]["soak_errors"] = load.errors
            results[a.name]["soak_silent"] = load.silent
            results[a.name]["soak_mps"] = load.rate
            results[a.name]["rss_after_soak_mb"] = a.memory()

        each(f"{args.messages} messages", ten_thousand)
    finally:
        for assistant in pair:
            assistant.stop()

    log("guard detector and NLU graph timing, and `ldn-bot ask --json` on 500 questions")
    results["ldn-bot"]["guard"] = guard_timing()
    results["ldn-bot"]["nlu"] = nlu_timing()
    results["ldn-bot"]["ask"] = ask_throughput(ours_dir / "ask-var")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"machine": machine(), "messages": args.messages, "results": results}


# --- the table -----------------------------------------------------------------------------------

ROWS: list[
    tuple[str, Callable[[dict[str, Any]], float], str, str, Callable[[float], bool] | None]
] = [
    # label, value, unit, goal text, goal check on ours/stock
    ("REST latency p50, 1 user", lambda r: r["p50_1user_ms"], "ms", "≤ 0.5×", lambda q: q <= 0.5),
    ("REST latency p95, 1 user", lambda r: r["p95_1user_ms"], "ms", "", None),
    ("REST latency p99, 1 user", lambda r: r["p99_1user_ms"], "ms", "", None),
    ("REST latency p50, 8 users", lambda r: r["p50_8users_ms"], "ms", "", None),
    ("REST latency p95, 8 users", lambda r: r["p95_8users_ms"], "ms", "", None),
    ("REST latency p99, 8 users", lambda r: r["p99_8users_ms"], "ms", "", None),
    (
        "throughput, 8 users",
        lambda r: r["throughput_8users_mps"],
        "msg/s",
        "≥ 2×",
        lambda q: q >= 2,
    ),
    ("HTTP errors, 8 users", lambda r: r["errors_8users"], "", "", None),
    ("messages with no reply, 8 users", lambda r: r["silent_8users"], "", "", None),
    ("message 1 of a conversation", lambda r: r["msg1_10_median_ms"], "ms", "", None),
    ("message 200 of a conversation", lambda r: r["msg191_200_median_ms"], "ms", "", None),
    ("RSS Rasa server, warm", lambda r: r["rss_warm_mb"]["server"], "MB", "", None),
    ("RSS action server, warm", lambda r: r["rss_warm_mb"]["actions"], "MB", "", None),
    ("RSS Rasa server, after soak", lambda r: r["rss_after_soak_mb"]["server"], "MB", "", None),
    ("RSS action server, after soak", lambda r: r["rss_after_soak_mb"]["actions"], "MB", "", None),
    (
        "RSS both, after soak",
        lambda r: r["rss_after_soak_mb"]["server"] + r["rss_after_soak_mb"]["actions"],
        "MB",
        "≤ 0.8×",
        lambda q: q <= 0.8,
    ),
    ("soak throughput", lambda r: r["soak_mps"], "msg/s", "", None),
    ("soak HTTP errors", lambda r: r["soak_errors"], "", "", None),
    ("soak messages with no reply", lambda r: r["soak_silent"], "", "", None),
    ("cold start to first reply", lambda r: r["cold_start_s"], "s", "≤ 0.6×", lambda q: q <= 0.6),
    ("training from scratch", lambda r: r["train_s"], "s", "", None),
]


def table(report: dict[str, Any]) -> str:
    ours, stock = report["results"]["ldn-bot"], report["results"]["stock"]
    lines = [
        "| measure | ldn-bot | stock `rasa init` | ours/stock | goal |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for label, value, unit, goal, check in ROWS:
        try:
            a, b = float(value(ours)), float(value(stock))
        except KeyError:
            continue
        ratio = a / b if b else float("nan")
        verdict = f"{goal} {'✅' if check(ratio) else '❌'}" if check else ""
        lines.append(f"| {label} | {a:,.1f} {unit} | {b:,.1f} {unit} | {ratio:.2f} | {verdict} |")
    first, last = ours["msg1_10_median_ms"], ours["msg191_200_median_ms"]
    growth_ok = "✅" if last <= 1.5 * first else "❌"
    stock_growth = stock["msg191_200_median_ms"] / stock["msg1_10_median_ms"]
    lines.append(
        f"| message 200 / message 1 | {last / first:.2f}× | {stock_growth:.2f}× | "
        f"| ≤ 1.5× {growth_ok} |"
    )
    guard = ours["guard"]
    lines.append(
        f"| guard detector per message | {guard['mean_ms']:.3f} ms (p99 {guard['p99_ms']:.3f}) "
        f"| | | < 1 ms {'✅' if guard['mean_ms'] < 1 else '❌'} |"
    )
    nlu = ours.get("nlu")
    if nlu:
        lines.append(
            f"| NLU graph + guard per message (`Agent.parse_message`) | {nlu['mean_ms']:.2f} ms "
            f"(p99 {nlu['p99_ms']:.2f}), {nlu['parses_per_message']:.2f} spaCy parses | | | |"
        )
    widget = report.get("widget")
    if widget:
        gap = widget["widget_minus_rest_p50_ms"]
        lines.append(
            f"| web widget, send to rendered, p50 ({widget['questions']} questions) "
            f"| {widget['widget_p50_ms']:.1f} ms (REST {widget['rest_p50_ms']:.1f} ms) | | "
            f"| ≤ REST + 150 ms {'✅' if gap <= 150 else '❌'} |"
        )
    ask = ours["ask"]
    lines.append(
        f"| `ldn-bot ask --json`, 500 questions | {ask['steady_qps']:.0f} q/s "
        f"({ask['wall_s']:.1f} s with start-up) | | | ≥ 50 q/s "
        f"{'✅' if ask['steady_qps'] >= 50 else '❌'} |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    if args.core_only:
        with tempfile.TemporaryDirectory(prefix="ldn-bench-") as work:
            subprocess.run([str(BIN / "ldn-bot"), "train"], cwd=ROOT, env=ENV, check=True)
            core = {
                "guard": guard_timing(),
                "nlu": nlu_timing(),
                "ask": ask_throughput(Path(work) / "var"),
            }
        print(json.dumps({"machine": machine(), **core}, indent=2))
        return 0
    report = measure(args)
    report["widget"] = widget_reply_time()
    rendered = table(report)
    report["table"] = rendered
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    info = report["machine"]
    print(
        f"\nldn-bot vs stock Rasa ({info['date']}; {info['cpu']}, {info['cores']} cores, "
        f"{info['memory_gb']} GB; soak {args.messages} messages)\n"
    )
    print(rendered)
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
