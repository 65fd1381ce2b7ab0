"""The report as one self-contained HTML page (Jinja2 templates shipped with the package:
inline CSS, charts as inline SVG, no scripts) and as a few lines for the terminal."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ldn_bot.ledger.report import charts
from ldn_bot.ledger.report.labels import labels
from ldn_bot.ledger.report.model import (
    DOWN_VOTES_SHOWN,
    TOP_QUESTIONS,
    Counts,
    Group,
    ReportData,
)


def render_html(data: ReportData, *, title: str = "ldn-bot report") -> str:
    """One self-contained page: inline CSS and SVG, no scripts, no external references."""
    start, end = data.period()
    shown = data.down_votes[:DOWN_VOTES_SHOWN]
    more = len(data.down_votes) - len(shown)
    page = (
        environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            data=data,
            small=charts.small(data),
            kpis=_key_figures(data),
            figures={name: _trusted(item) for name, item in charts.figures(data).items()},
            days=_days(data),
            rules=[
                {**vars(item), "share": _share_of(item.count, data)} for item in data.guard_rules
            ],
            not_covered={
                "caption": f"About LDN or MS, not covered by the article (top {TOP_QUESTIONS})",
                "rows": data.group(Group.NOT_COVERED),
            },
            off_topic={
                "caption": f"Off-topic or in another language (top {TOP_QUESTIONS})",
                "rows": data.group(Group.OFF_TOPIC),
            },
            feedback=_feedback(data),
            down={
                "caption": "Down-voted turns, latest first"
                + (f" (the latest {len(shown)} of {len(data.down_votes)})" if more > 0 else ""),
                "rows": shown,
            },
            rule_label=labels().rule,
            shown={turn.anchor for transcript in data.transcripts for turn in transcript.turns},
            totals=_totals(data),
            start=start.isoformat() if start else "-",
            end=end.isoformat() if end else "-",
        )
    )
    return _self_contained(page)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates of `ldn_bot/ledger/report/templates` (package data), every value
    escaped (`_escaped`), a missing variable an error."""
    return Environment(
        loader=PackageLoader("ldn_bot.ledger.report", "templates"),
        autoescape=True,
        finalize=_escaped,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _escaped(value: object) -> object:
    """Text from the database, escaped. `://` is written as an entity so that a URL someone
    typed stays plain text and the page's source has no URL in it at all."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    return Markup(html.escape(str(value), quote=True).replace("://", "&#58;//"))


def _trusted(figure: charts.Figure) -> charts.Figure:
    """The chart's SVG is the report's own (its text escaped by matplotlib)."""
    from dataclasses import replace

    return replace(figure, svg=Markup(figure.svg) if figure.svg else None)


def _self_contained(page: str) -> str:
    """Refuse to return a page that would load anything from outside. Text from the database
    is escaped, so every tag and style sheet left in the page is the report's own."""
    outside = re.compile(
        r"""(?i)https?:|^<(script|link|iframe|object|embed|img|base|audio|video|source)\b"""
        r"""|\b(src|srcset|href|action|poster|data)\s*=\s*(?!["']?#)|url\(\s*(?!["']?#)"""
        r"""|@import"""
    )
    parts = re.findall(r"<[^>]*>", page) + re.findall(r"(?s)<style>(.*?)</style>", page)
    leaks = [part for part in parts if outside.search(part)]
    if leaks or re.search(r"(?i)https?://", page):
        raise RuntimeError(
            f"internal error, please report it: the page would load from outside: {leaks[:3]}"
        )
    return page


def _key_figures(data: ReportData) -> list[tuple[str, str]]:
    return [
        ("Turns", f"{data.turns:,}"),
        ("Conversations", f"{data.conversations:,}"),
        ("Fallback rate", _percent(data.fallback_rate)),
        ("Out of scope", _percent(data.out_of_scope_rate)),
        ("Failures", f"{data.failed:,}"),
        ("Doctor referrals", f"{data.referrals:,}"),
        ("Emergencies", f"{data.emergencies:,}"),
        ("Guard triggers", f"{data.guard_triggers:,}"),
        ("Feedback", _votes(data.votes_up, data.votes_down)),
    ]


def _votes(up: int, down: int) -> str:
    """Votes with their sign: "+4 −2 (net +2)"."""
    return f"+{up} −{down} (net {_signed(up - down)})"


def _signed(value: int) -> str:
    return f"{value:+d}".replace("-", "−") if value else "0"


def _days(data: ReportData) -> dict[str, Any]:
    routes = [name for name, _ in data.routes]
    return {
        "headers": ("Day (UTC)", "Conversations", "Messages", *routes),
        "rows": [
            (f"{day.day:%Y-%m-%d}", day.conversations, day.messages, *map(day.route, routes))
            for day in data.days
        ],
        "numeric": tuple(range(1, 3 + len(routes))),
    }


def _feedback(data: ReportData) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        (
            item.route,
            _signed(item.up),
            _signed(-item.down),
            _signed(item.net),
            _share(item.up, item.down),
        )
        for item in data.feedback
    ]
    if rows:
        rows.append(
            (
                "All routes",
                _signed(data.votes_up),
                _signed(-data.votes_down),
                _signed(data.votes_net),
                _share(data.votes_up, data.votes_down),
            )
        )
    return rows


def _share_of(count: int, data: ReportData) -> str:
    return _percent(count / data.guard_triggers) if data.guard_triggers else "-"


def _share(up: int, down: int) -> str:
    return _percent(up / (up + down)) if up + down else "-"


def _totals(data: ReportData) -> list[tuple[str, object]]:
    def listing(counts: Counts) -> str:
        return ", ".join(f"{name} ({count})" for name, count in counts) or "none"

    return [
        ("Period", data.period_text()),
        ("Turns", data.turns),
        ("Conversations", data.conversations),
        ("Fallback rate (failures left out)", _percent(data.fallback_rate)),
        ("Out-of-scope rate", _percent(data.out_of_scope_rate)),
        ("Failures", f"{data.failed} ({_percent(data.failure_rate)})"),
        ("Doctor referrals", data.referrals),
        ("Emergencies", data.emergencies),
        ("Guard triggers", data.guard_triggers),
        ("Unanswered turns without text", data.unanswered_without_text),
        ("Feedback votes", _votes(data.votes_up, data.votes_down)),
        ("Channels", listing(data.channels)),
        ("Model ids (turns)", listing(data.model_ids)),
        ("Article versions (turns)", listing(data.article_versions)),
    ]


# --- the terminal summary -----------------------------------------------------------------


def summary_text(data: ReportData) -> str:
    """A few lines for the terminal: volumes, routes, guard, gaps and feedback."""
    lines = [f"Ledger report, {data.period_text()}"]
    if not data.turns:
        lines.append("No turns in the ledger for this period.")
    else:
        lines.append(f"Turns: {data.turns} in {data.conversations} conversation(s)")
        lines.append(
            "Routes: "
            + ", ".join(f"{route} {_percent(count / data.turns)}" for route, count in data.routes)
        )
    lines.append(
        f"Fallback rate: {_percent(data.fallback_rate)}, "
        f"out of scope: {_percent(data.out_of_scope_rate)}, "
        f"doctor referrals: {data.referrals}, emergencies: {data.emergencies}"
    )
    if data.failures:
        lines.append(
            f"Failures (not fallbacks): {data.failed}; "
            + ", ".join(f"{item.kind} ({item.count})" for item in data.failures)
        )
    rules = ", ".join(f"{_printable(item.rule)} ({item.count})" for item in data.guard_rules[:3])
    lines.append(
        f"Guard triggers: {data.guard_triggers}" + (f"; top rules: {rules}" if rules else "")
    )
    if data.questions:
        lines.append("Top unanswered questions:")
        lines.extend(
            f"  {item.count:>3} x {_printable(_shorten(item.text, 70))} [{item.route}]"
            for item in data.questions[:3]
        )
    lines.append(f"Feedback: {data.votes_up} up, {data.votes_down} down")
    return "\n".join(lines)


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _printable(text: str) -> str:
    """What people typed, made safe for a terminal (no escape sequences, no control codes)."""
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
