"""The report: the comparison table (with each goal's verdict), its JSON file, the printout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, Callable[[dict[str, Any]], float], str, str, Callable[[float], bool] | None]

ROWS: list[Row] = [
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
    """The Markdown table of both assistants' figures, ours/stock ratios and goal verdicts.

    Rows whose figure was not measured (training with `--skip-training`) are left out.
    """
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


def write_report(report: dict[str, Any], out: Path) -> None:
    """Write the whole report (figures, machine, table) as JSON, creating the folder."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


def print_report(report: dict[str, Any], *, out: Path, messages: int) -> None:
    """Print the headline (date, machine, soak size), the table and where the JSON went."""
    info = report["machine"]
    print(
        f"\nldn-bot vs stock Rasa ({info['date']}; {info['cpu']}, {info['cores']} cores, "
        f"{info['memory_gb']} GB; soak {messages} messages)\n"
    )
    print(report["table"])
    print(f"\nJSON: {out}")
