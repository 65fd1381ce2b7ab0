"""The ledger report: what the bot was asked, how it routed, what the guard stopped, what
people thought of the answers. One self-contained HTML page (inline CSS, charts as inline
SVG) and a short summary for the terminal.

The same code reads SQLite and PostgreSQL: queries are plain `select()`s of the needed
columns, and dates are bucketed in Python (UTC), not with dialect functions.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from ldn_bot.guard.verdict import Category
from ldn_bot.ledger.conversations import EVENTS
from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.routing import Route

TOP_QUESTIONS = 20
TOP_RULES_CHART = 15
BARS_UP_TO_DAYS = 31  # the activity chart draws lines for longer periods
DOWN_VOTES_SHOWN = 50
UNANSWERED = (Route.FALLBACK.value, Route.OUT_OF_SCOPE.value, Route.LANGUAGE.value)
NO_TURN = "no turn"  # a vote whose turn is not in the ledger (deleted, or never linked)
NO_RULE = "(no rule)"

Counts = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Day:
    """One UTC day of turns."""

    day: date
    conversations: int
    messages: int
    routes: Counts = ()

    def route(self, name: str) -> int:
        return dict(self.routes).get(name, 0)


@dataclass(frozen=True)
class GuardRule:
    """How often one guard rule decided a turn."""

    rule: str
    category: str
    count: int


@dataclass(frozen=True)
class Question:
    """A question the bot could not answer, counted across spellings."""

    text: str  # the most common original form
    count: int
    route: str  # the most common route it got (fallback or out_of_scope)


@dataclass(frozen=True)
class RouteFeedback:
    """Votes on the replies of one route."""

    route: str
    up: int
    down: int


@dataclass(frozen=True)
class DownVote:
    """A thumbs down, with what the turn was (no text)."""

    voted_at: datetime
    route: str
    intent: str | None
    guard_rule: str | None


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, for one period. Counts are tuples of (name, count),
    most frequent first, so the value stays immutable."""

    since: datetime | None = None
    until: datetime | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    first_turn: datetime | None = None
    last_turn: datetime | None = None
    turns: int = 0
    conversations: int = 0
    days: tuple[Day, ...] = ()
    routes: Counts = ()
    guard_categories: Counts = ()
    guard_rules: tuple[GuardRule, ...] = ()
    questions: tuple[Question, ...] = ()
    unanswered: int = 0
    unanswered_without_text: int = 0
    votes_up: int = 0
    votes_down: int = 0
    feedback: tuple[RouteFeedback, ...] = ()
    down_votes: tuple[DownVote, ...] = ()
    channels: Counts = ()
    model_ids: Counts = ()
    article_versions: Counts = ()
    events_table: bool = False

    @property
    def empty(self) -> bool:
        return self.turns == 0 and self.votes_up + self.votes_down == 0

    def route_count(self, route: str) -> int:
        return dict(self.routes).get(route, 0)

    def share(self, route: str) -> float:
        """The share (0..1) of turns that got `route`."""
        return self.route_count(route) / self.turns if self.turns else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.share(Route.FALLBACK.value)

    @property
    def out_of_scope_rate(self) -> float:
        return self.share(Route.OUT_OF_SCOPE.value)

    @property
    def referrals(self) -> int:
        return self.route_count(Route.DOCTOR_REFERRAL.value)

    @property
    def emergencies(self) -> int:
        return self.route_count(Route.EMERGENCY.value)

    @property
    def guard_triggers(self) -> int:
        return sum(count for _, count in self.guard_categories)

    def period(self) -> tuple[date | None, date | None]:
        """First and last day covered: the requested bounds, else the data's extent."""
        start = self.since.date() if self.since else _day_of(self.first_turn)
        if self.until:
            end: date | None = (self.until - timedelta(microseconds=1)).date()
        else:
            end = _day_of(self.last_turn)
        return start, end

    def period_text(self) -> str:
        start, end = self.period()
        if start and end:
            return f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (UTC)"
        if start:
            return f"since {start:%Y-%m-%d} (UTC)"
        if end:
            return f"until {end:%Y-%m-%d} (UTC)"
        return "all time"


# --- collecting ---------------------------------------------------------------------------


def collect(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None
) -> ReportData:
    """Read the ledger (and Rasa's conversation store, for question texts) for a period.

    Args:
        engine: the database holding the ledger tables and, usually, Rasa's `events`.
        since: first moment included; a naive datetime is taken as UTC.
        until: first moment excluded; a naive datetime is taken as UTC.

    Raises:
        RuntimeError: the ledger tables do not exist in this database.
    """
    since = _utc(since) if since else None
    until = _utc(until) if until else None
    inspector = inspect(engine)
    if not inspector.has_table(LedgerTurn.__tablename__):
        raise RuntimeError(
            "no ledger tables in this database: check the conversation store URL, "
            "or run `ldn-bot report` once, which creates them"
        )
    has_events = inspector.has_table(EVENTS.name)
    with engine.connect() as connection:
        turns = _turn_stats(connection, since, until)
        questions, unanswered, without_text = _questions(connection, since, until, has_events)
        votes = _vote_stats(connection, since, until)
    return ReportData(
        since=since,
        until=until,
        questions=questions,
        unanswered=unanswered,
        unanswered_without_text=without_text,
        events_table=has_events,
        **turns,
        **votes,
    )


def _turn_stats(
    connection: Connection, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    query = _period(
        select(
            LedgerTurn.created_at,
            LedgerTurn.sender_hash,
            LedgerTurn.route,
            LedgerTurn.guard_category,
            LedgerTurn.guard_rule,
            LedgerTurn.channel,
            LedgerTurn.model_id,
            LedgerTurn.article_version,
        ),
        LedgerTurn.created_at,
        since,
        until,
    )
    messages: Counter[date] = Counter()
    senders: defaultdict[date, set[str]] = defaultdict(set)
    day_routes: defaultdict[date, Counter[str]] = defaultdict(Counter)
    routes: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    rules: Counter[tuple[str, str]] = Counter()
    channels: Counter[str] = Counter()
    models: Counter[str] = Counter()
    articles: Counter[str] = Counter()
    everyone: set[str] = set()
    first: datetime | None = None
    last: datetime | None = None
    for row in _stream(connection, query):
        created = _utc(row.created_at)
        first = created if first is None or created < first else first
        last = created if last is None or created > last else last
        day = created.date()
        messages[day] += 1
        senders[day].add(row.sender_hash)
        everyone.add(row.sender_hash)
        day_routes[day][row.route] += 1
        routes[row.route] += 1
        if row.guard_category != Category.NONE.value:
            categories[row.guard_category] += 1
            rules[(row.guard_rule or NO_RULE, row.guard_category)] += 1
        channels[row.channel] += 1
        models[row.model_id or "(not recorded)"] += 1
        articles[row.article_version] += 1
    days: list[Day] = []
    if first and last:
        day = first.date()
        while day <= last.date():  # every day of the span, quiet ones included
            days.append(
                Day(day, len(senders[day]), messages[day], _ranked(day_routes[day], _ROUTE_ORDER))
            )
            day += timedelta(days=1)
    return {
        "first_turn": first,
        "last_turn": last,
        "turns": sum(messages.values()),
        "conversations": len(everyone),
        "days": tuple(days),
        "routes": _ranked(routes, _ROUTE_ORDER),
        "guard_categories": _ranked(categories, _CATEGORY_ORDER),
        "guard_rules": tuple(
            GuardRule(rule, category, count)
            for (rule, category), count in sorted(rules.items(), key=lambda i: (-i[1], i[0]))
        ),
        "channels": _ranked(channels),
        "model_ids": _ranked(models),
        "article_versions": _ranked(articles),
    }


def _questions(
    connection: Connection, since: datetime | None, until: datetime | None, has_events: bool
) -> tuple[tuple[Question, ...], int, int]:
    """The most frequent unanswered questions, the number of unanswered turns, and how many
    of those have no text anywhere (deleted from the conversation store, or never kept)."""
    query = _period(
        select(
            LedgerTurn.created_at, LedgerTurn.message_id, LedgerTurn.route, LedgerTurn.user_text
        ).where(LedgerTurn.route.in_(UNANSWERED)),
        LedgerTurn.created_at,
        since,
        until,
    )
    turns: list[tuple[str, str, str | None]] = []
    first: datetime | None = None
    last: datetime | None = None
    for row in _stream(connection, query):
        created = _utc(row.created_at)
        first = created if first is None or created < first else first
        last = created if last is None or created > last else last
        turns.append((row.message_id, row.route, row.user_text))
    missing = {message_id for message_id, _, text in turns if not text}
    texts: dict[str, str] = {}
    if missing and has_events and first and last:
        # The ledger's time is the user event's own timestamp; the margin is only caution.
        texts = _user_texts(connection, missing, first - _MARGIN, last + _MARGIN)
    spellings: defaultdict[str, Counter[str]] = defaultdict(Counter)
    routes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    without_text = 0
    for message_id, route, stored in turns:
        original = " ".join((stored or texts.get(message_id) or "").split())
        if not original:
            without_text += 1
            continue
        key = original.lower()
        spellings[key][original] += 1
        routes[key][route] += 1
    ranked = sorted(spellings, key=lambda key: (-sum(spellings[key].values()), key))
    questions = tuple(
        Question(
            text=spellings[key].most_common(1)[0][0],
            count=sum(spellings[key].values()),
            route=routes[key].most_common(1)[0][0],
        )
        for key in ranked[:TOP_QUESTIONS]
    )
    return questions, len(turns), without_text


_MARGIN = timedelta(hours=1)


def _user_texts(
    connection: Connection, message_ids: set[str], start: datetime, end: datetime
) -> dict[str, str]:
    """The text of user messages, by message id, from Rasa's events in a time window."""
    query = select(EVENTS.c.data).where(
        EVENTS.c.type_name == "user",
        EVENTS.c.timestamp >= start.timestamp(),
        EVENTS.c.timestamp <= end.timestamp(),
    )
    texts: dict[str, str] = {}
    for (data,) in _stream(connection, query):
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        message_id = event.get("message_id")
        if message_id in message_ids and isinstance(event.get("text"), str):
            texts[message_id] = event["text"]
    return texts


def _vote_stats(
    connection: Connection, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    query = _period(
        select(
            FeedbackVote.created_at,
            FeedbackVote.vote,
            LedgerTurn.route,
            LedgerTurn.intent,
            LedgerTurn.guard_rule,
        ).outerjoin(LedgerTurn, FeedbackVote.turn_id == LedgerTurn.id),
        FeedbackVote.created_at,
        since,
        until,
    )
    per_route: defaultdict[str, Counter[str]] = defaultdict(Counter)
    down: list[DownVote] = []
    for row in _stream(connection, query):
        route = row.route or NO_TURN
        per_route[route][row.vote] += 1
        if row.vote == "down":
            down.append(DownVote(_utc(row.created_at), route, row.intent, row.guard_rule))
    order = [*_ROUTE_ORDER, NO_TURN]
    feedback = tuple(
        RouteFeedback(route, per_route[route]["up"], per_route[route]["down"])
        for route in sorted(per_route, key=lambda r: (order.index(r) if r in order else 99, r))
    )
    return {
        "votes_up": sum(item.up for item in feedback),
        "votes_down": sum(item.down for item in feedback),
        "feedback": feedback,
        "down_votes": tuple(sorted(down, key=lambda vote: vote.voted_at, reverse=True)),
    }


_ROUTE_ORDER = [route.value for route in Route]
_CATEGORY_ORDER = [category.value for category in Category]


def _period(query: Select, column: Any, since: datetime | None, until: datetime | None) -> Select:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def _stream(connection: Connection, query: Select) -> Iterator[Any]:
    """Rows in batches (a server-side cursor where the driver has one)."""
    result = connection.execution_options(stream_results=True, yield_per=500).execute(query)
    yield from result


def _utc(moment: datetime) -> datetime:
    """Aware UTC. SQLite gives back naive datetimes, which the ledger writes in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _day_of(moment: datetime | None) -> date | None:
    return moment.date() if moment else None


def _ranked(counts: Counter[str], order: Sequence[str] = ()) -> Counts:
    """Non-zero counts, in `order` when given, else most frequent first (then by name)."""
    known = [(name, counts[name]) for name in order if counts.get(name)]
    rest = sorted(
        ((name, count) for name, count in counts.items() if name not in order and count),
        key=lambda item: (-item[1], item[0]),
    )
    return tuple(known + rest)


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


# --- the HTML page ------------------------------------------------------------------------

ROUTE_COLOURS = {
    Route.ARTICLE_ANSWER.value: "#3b6ea5",
    Route.SMALLTALK.value: "#9db4cc",
    Route.DOCTOR_REFERRAL.value: "#d9922e",
    Route.EMERGENCY.value: "#b8403a",
    Route.OUT_OF_SCOPE.value: "#7b62a3",
    Route.LANGUAGE.value: "#5f8f7a",
    Route.FALLBACK.value: "#767676",
    NO_TURN: "#d8d2c4",
}
CATEGORY_COLOURS = {
    Category.EMERGENCY.value: "#b8403a",
    Category.PILL_SPLITTING.value: "#b5651d",
    Category.DOSING.value: "#d9922e",
    Category.PERSONAL_ADVICE.value: "#e3bd6b",
}
MESSAGES_COLOUR = "#3d4f5c"
CONVERSATIONS_COLOUR = "#a3b3bf"
OTHER_COLOUR = "#b0b0b0"
INK = "#2b2f33"
MUTED = "#6b7075"
GRID = "#e3e6e8"


def render_html(data: ReportData, *, title: str = "ldn-bot report") -> str:
    """One self-contained page: inline CSS and SVG, no scripts, no external references."""
    charts = _Charts(data)
    start, end = data.period()
    notice = (
        ""
        if not data.empty
        else '<p class="notice" role="status">No data in this period: the ledger has no turns '
        "and no feedback votes between these dates.</p>"
    )
    body = f"""
<header>
  <h1>{_e(title)}</h1>
  <p class="meta">Period: {_e(data.period_text())} · generated
    {data.generated_at:%Y-%m-%d %H:%M} UTC</p>
</header>
<main>
{notice}
{_key_figures(data)}
<section aria-labelledby="h-activity">
  <h2 id="h-activity">Activity</h2>
  <div class="grid">
    {charts.activity()}
    {charts.routes()}
  </div>
  {_days_table(data)}
</section>
<section aria-labelledby="h-guard">
  <h2 id="h-guard">Guard</h2>
  <div class="grid two">
    {charts.categories()}
    {charts.rules()}
  </div>
  {_rules_table(data)}
</section>
<section aria-labelledby="h-gaps">
  <h2 id="h-gaps">Questions the bot could not answer</h2>
  {_questions_table(data)}
</section>
<section aria-labelledby="h-feedback">
  <h2 id="h-feedback">Feedback</h2>
  <div class="grid">
    {charts.feedback()}
  </div>
  {_feedback_table(data)}
  {_down_votes_table(data)}
</section>
<section aria-labelledby="h-totals">
  <h2 id="h-totals">Totals</h2>
  {_totals_table(data)}
</section>
</main>
<footer>Generated by ldn-bot from the guard decision ledger
  ({_e(start.isoformat() if start else "-")} – {_e(end.isoformat() if end else "-")}).
  Conversations are counted as distinct (hashed) senders.</footer>
"""
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>{body}</body>
</html>
"""
    return _self_contained(page)


def _e(value: object) -> str:
    """Escaped text from the database. `://` is written as an entity so that a URL someone
    typed stays plain text and the page's source has no URL in it at all."""
    return html.escape(str(value), quote=True).replace("://", "&#58;//")


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


def _key_figures(data: ReportData) -> str:
    figures = [
        ("Turns", f"{data.turns:,}"),
        ("Conversations", f"{data.conversations:,}"),
        ("Fallback rate", _percent(data.fallback_rate)),
        ("Out of scope", _percent(data.out_of_scope_rate)),
        ("Doctor referrals", f"{data.referrals:,}"),
        ("Emergencies", f"{data.emergencies:,}"),
        ("Guard triggers", f"{data.guard_triggers:,}"),
        ("Feedback", f"{data.votes_up} up · {data.votes_down} down"),
    ]
    items = "".join(
        f'<div class="kpi"><dt>{_e(label)}</dt><dd>{_e(value)}</dd></div>'
        for label, value in figures
    )
    return f'<dl class="kpis">{items}</dl>'


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    empty: str,
    numeric: Sequence[int] = (),
    css: str = "",
) -> str:
    head = "".join(
        f'<th scope="col"{" class=num" if index in numeric else ""}>{_e(name)}</th>'
        for index, name in enumerate(headers)
    )
    body_rows = []
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            tag = "th" if index == 0 else "td"
            scope = ' scope="row"' if index == 0 else ""
            num = ' class="num"' if index in numeric else ""
            cells.append(f"<{tag}{scope}{num}>{_e(value)}</{tag}>")
        body_rows.append(f"<tr>{''.join(cells)}</tr>")
    if not body_rows:
        body_rows.append(f'<tr class="empty"><td colspan="{len(headers)}">{_e(empty)}</td></tr>')
    return (
        f'<div class="table-wrap"><table class="{css}"><caption>{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table></div>"
    )


def _totals_table(data: ReportData) -> str:
    def listing(counts: Counts) -> str:
        return ", ".join(f"{name} ({count})" for name, count in counts) or "none"

    rows: list[tuple[str, object]] = [
        ("Period", data.period_text()),
        ("Turns", data.turns),
        ("Conversations", data.conversations),
        ("Fallback rate", _percent(data.fallback_rate)),
        ("Out-of-scope rate", _percent(data.out_of_scope_rate)),
        ("Doctor referrals", data.referrals),
        ("Emergencies", data.emergencies),
        ("Guard triggers", data.guard_triggers),
        ("Unanswered turns without text", data.unanswered_without_text),
        ("Feedback votes", f"{data.votes_up} up, {data.votes_down} down"),
        ("Channels", listing(data.channels)),
        ("Model ids (turns)", listing(data.model_ids)),
        ("Article versions (turns)", listing(data.article_versions)),
    ]
    return _table("Totals summary", ("Measure", "Value"), rows, empty="", css="totals")


def _days_table(data: ReportData) -> str:
    routes = [name for name, _ in data.routes]
    rows = [
        (f"{day.day:%Y-%m-%d}", day.conversations, day.messages, *(day.route(r) for r in routes))
        for day in data.days
    ]
    table = _table(
        "Turns per day",
        ("Day (UTC)", "Conversations", "Messages", *routes),
        rows,
        empty="No turns in this period.",
        numeric=range(1, 3 + len(routes)),
    )
    return f"<details><summary>Daily numbers</summary>{table}</details>"


def _rules_table(data: ReportData) -> str:
    total = data.guard_triggers
    rows = [
        (item.rule, item.category, item.count, _percent(item.count / total))
        for item in data.guard_rules
    ]
    return _table(
        "Guard triggers by rule",
        ("Rule", "Category", "Turns", "Share of triggers"),
        rows,
        empty="No guard triggers in this period.",
        numeric=(2, 3),
    )


def _questions_table(data: ReportData) -> str:
    rows = [(item.text, item.count, item.route) for item in data.questions]
    table = _table(
        f"Top {TOP_QUESTIONS} unanswered questions (fallback and out of scope)",
        ("Question (most common spelling)", "Times asked", "Route"),
        rows,
        empty="No unanswered questions in this period.",
        numeric=(1,),
        css="questions",
    )
    note = ""
    if data.unanswered_without_text:
        note = (
            f'<p class="note">{data.unanswered_without_text} of {data.unanswered} unanswered '
            "turn(s) have no text: their conversation was deleted, or the conversation "
            "store is elsewhere.</p>"
        )
    return table + note


def _feedback_table(data: ReportData) -> str:
    rows = [
        (
            item.route,
            item.up,
            item.down,
            _percent(item.up / (item.up + item.down)) if item.up + item.down else "-",
        )
        for item in data.feedback
    ]
    if rows:
        total = data.votes_up + data.votes_down
        rows.append(("All routes", data.votes_up, data.votes_down, _percent(data.votes_up / total)))
    return _table(
        "Feedback by route",
        ("Route", "Up", "Down", "Share up"),
        rows,
        empty="No feedback votes in this period.",
        numeric=(1, 2, 3),
    )


def _down_votes_table(data: ReportData) -> str:
    shown = data.down_votes[:DOWN_VOTES_SHOWN]
    rows = [
        (f"{vote.voted_at:%Y-%m-%d %H:%M}", vote.route, vote.intent or "-", vote.guard_rule or "-")
        for vote in shown
    ]
    more = len(data.down_votes) - len(shown)
    caption = "Down-voted turns, latest first" + (
        f" (the latest {len(shown)} of {len(data.down_votes)})" if more > 0 else ""
    )
    return _table(
        caption,
        ("Voted (UTC)", "Route", "Intent", "Guard rule"),
        rows,
        empty="No down votes in this period.",
    )


# --- charts -------------------------------------------------------------------------------


class _Charts:
    """The five charts of a report, each a <figure> with an inline SVG."""

    def __init__(self, data: ReportData) -> None:
        self.data = data

    def activity(self) -> str:
        data = self.data
        caption = "Conversations and messages per day (UTC)"
        if not data.days:
            return _figure("activity", caption, None, "No turns in this period.")
        labels = [f"{day.day:%d %b}" for day in data.days]
        xs = list(range(len(labels)))
        messages = [day.messages for day in data.days]
        conversations = [day.conversations for day in data.days]
        fig, ax = _axes(height=3.0)
        names = {"messages": "Messages (turns)", "conversations": "Conversations"}
        if len(xs) <= BARS_UP_TO_DAYS:
            kind = "Bar chart"
            width = 0.4
            ax.bar([x - width / 2 for x in xs], messages, width, color=MESSAGES_COLOUR)
            ax.bar([x + width / 2 for x in xs], conversations, width, color=CONVERSATIONS_COLOUR)
            artists = ax.containers
        else:  # grouped bars would be too thin: lines
            kind = "Line chart"
            ax.plot(xs, messages, color=MESSAGES_COLOUR, linewidth=1.8)
            ax.plot(xs, conversations, color=CONVERSATIONS_COLOUR, linewidth=1.8)
            ax.set_ylim(bottom=0)
            artists = ax.lines
        for artist, name in zip(artists, names.values(), strict=True):
            artist.set_label(name)
        _day_axis(ax, labels)
        _legend(ax, columns=2)
        busiest = max(data.days, key=lambda day: day.messages)
        label = (
            f"{kind} of messages and conversations on each of {len(data.days)} days. "
            f"{data.turns} messages in {data.conversations} conversations; busiest day "
            f"{busiest.day:%Y-%m-%d} with {busiest.messages} messages."
        )
        return _figure("activity", caption, _svg(fig, "activity"), label)

    def routes(self) -> str:
        data = self.data
        caption = "Routes per day: what kind of reply each turn got"
        if not data.days:
            return _figure("routes", caption, None, "No turns in this period.")
        labels = [f"{day.day:%d %b}" for day in data.days]
        xs = list(range(len(labels)))
        fig, ax = _axes(height=3.2)
        bottoms = [0] * len(xs)
        for route, _ in data.routes:
            heights = [day.route(route) for day in data.days]
            ax.bar(
                xs,
                heights,
                0.7,
                bottom=bottoms,
                color=ROUTE_COLOURS.get(route, OTHER_COLOUR),
                label=_plain(route),
                edgecolor="white",
                linewidth=0.5,
            )
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        _day_axis(ax, labels)
        _legend(ax, columns=min(6, len(data.routes)))
        shares = ", ".join(f"{route} {_percent(data.share(route))}" for route, _ in data.routes)
        label = f"Stacked bar chart of routes per day. Shares over the period: {shares}."
        return _figure("routes", caption, _svg(fig, "routes"), label)

    def categories(self) -> str:
        data = self.data
        caption = "Guard triggers by category"
        if not data.guard_categories:
            return _figure("categories", caption, None, "No guard triggers in this period.")
        names = [name for name, _ in data.guard_categories]
        counts = [count for _, count in data.guard_categories]
        fig, ax = _axes(width=5.0, height=3.0)
        bars = ax.bar(
            [_plain(name) for name in names],
            counts,
            0.6,
            color=[CATEGORY_COLOURS.get(name, OTHER_COLOUR) for name in names],
        )
        ax.bar_label(bars, padding=2, color=INK, fontsize=9)
        ax.margins(y=0.15)
        _count_axis(ax.yaxis)
        ax.tick_params(axis="x", length=0)
        listing = ", ".join(f"{name} {count}" for name, count in data.guard_categories)
        label = f"Bar chart of guard triggers by category: {listing}."
        return _figure("categories", caption, _svg(fig, "categories"), label)

    def rules(self) -> str:
        data = self.data
        caption = f"Guard triggers by rule (top {TOP_RULES_CHART})"
        if not data.guard_rules:
            return _figure("rules", caption, None, "No guard triggers in this period.")
        top = list(data.guard_rules[:TOP_RULES_CHART])[::-1]  # largest at the top
        fig, ax = _axes(width=5.0, height=max(2.2, 0.9 + 0.28 * len(top)))
        bars = ax.barh(
            [_plain(_shorten(item.rule, 38), spaces=False) for item in top],
            [item.count for item in top],
            0.65,
            color=[CATEGORY_COLOURS.get(item.category, OTHER_COLOUR) for item in top],
        )
        ax.bar_label(bars, padding=3, color=INK, fontsize=9)
        ax.margins(x=0.12)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.grid(axis="y", visible=False)
        _count_axis(ax.xaxis)
        ax.tick_params(axis="y", length=0)
        listing = ", ".join(f"{item.rule} {item.count}" for item in data.guard_rules[:5])
        label = f"Horizontal bar chart of guard triggers by rule; the most frequent: {listing}."
        return _figure("rules", caption, _svg(fig, "rules"), label)

    def feedback(self) -> str:
        data = self.data
        caption = "Feedback per route: thumbs down to the left, thumbs up to the right"
        if not data.feedback:
            return _figure("feedback", caption, None, "No feedback votes in this period.")
        items = list(data.feedback)[::-1]
        fig, ax = _axes(height=max(1.8, 0.8 + 0.36 * len(items)))
        names = [_plain(item.route) for item in items]
        colours = [ROUTE_COLOURS.get(item.route, OTHER_COLOUR) for item in items]
        ups = ax.barh(names, [item.up for item in items], 0.6, color=colours, label="up")
        downs = ax.barh(
            names,
            [-item.down for item in items],
            0.6,
            color=colours,
            alpha=0.45,
            hatch="///",
            edgecolor="white",
            linewidth=0,
            label="down",
        )
        for bars, labels in (
            (ups, [f"{i.up} up" if i.up else "" for i in items]),
            (downs, [f"{i.down} down" if i.down else "" for i in items]),
        ):
            ax.bar_label(bars, labels=labels, padding=3, color=INK, fontsize=9)
        widest = max(max(item.up, item.down) for item in items)
        ax.set_xlim(-widest * 1.35 - 0.5, widest * 1.35 + 0.5)
        ax.axvline(0, color=MUTED, linewidth=0.8)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.grid(axis="y", visible=False)
        _count_axis(ax.xaxis)
        ax.xaxis.set_major_formatter(_abs_formatter())
        ax.tick_params(axis="y", length=0)
        listing = ", ".join(f"{i.route} {i.up} up and {i.down} down" for i in data.feedback)
        label = f"Diverging bar chart of feedback votes per route: {listing}."
        return _figure("feedback", caption, _svg(fig, "feedback"), label)


def _plain(label: str, *, spaces: bool = True) -> str:
    """A label as matplotlib shows it literally (no mathtext); route and category names
    read better with spaces for underscores, rule ids stay as they are."""
    return (label.replace("_", " ") if spaces else label).replace("$", r"\$")


def _axes(*, width: float = 10.0, height: float = 3.0) -> tuple[Any, Any]:
    """A figure with one sober axes: no top/right spines, light grid behind the bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=72, constrained_layout=True, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#b7bcc0")
    ax.tick_params(colors=MUTED, labelcolor=INK, labelsize=9)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    return fig, ax


def _day_axis(ax: Any, labels: Sequence[str]) -> None:
    """Day labels on x, thinned out so they never overlap."""
    step = max(1, -(-len(labels) // 14))
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step])
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.tick_params(axis="x", length=0)
    _count_axis(ax.yaxis)


def _count_axis(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, nbins=5))


def _abs_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: f"{abs(value):g}")


def _legend(ax: Any, *, columns: int) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.02),
        ncol=max(1, columns),
        frameon=False,
        fontsize=9,
        handlelength=1.0,
        handleheight=1.0,
        borderaxespad=0,
        labelcolor=INK,
    )


def _svg(fig: Any, name: str) -> str:
    """The figure as inline SVG: text stays text (the page's font), ids are unique in the
    page, and nothing of the standalone file (prolog, DOCTYPE, metadata, namespaces) is left."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"ldn-bot-{name}"}):
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\s(width|height)="[\d.]+pt"', "", svg, count=2)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def prefixed(match: re.Match[str]) -> str:
        target = match.group(2)
        return f"{match.group(1)}{name}-{target}" if target in ids else match.group(0)

    svg = re.sub(r'(\bid=")([^"]+)', prefixed, svg)
    svg = re.sub(r"(url\(#)([^)]+)", prefixed, svg)
    svg = re.sub(r'((?:xlink:)?href="#)([^"]+)', prefixed, svg)
    svg = svg.replace("://", "&#58;//")  # label text, never a reference: see `_e`
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1).strip()


_WIDE = frozenset({"activity", "routes", "feedback"})


def _figure(name: str, caption: str, svg: str | None, label: str) -> str:
    if svg is None:
        content = f'<p class="empty-chart">{_e(label)}</p>'
    else:
        content = f'<div class="chart" role="img" aria-label="{_e(label)}">{svg}</div>'
    return (
        f'<figure class="{name}{" wide" if name in _WIDE else ""}" id="fig-{name}">{content}'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


_CSS = """
:root { --ink: #2b2f33; --muted: #6b7075; --line: #dde1e4; --bg: #f5f6f7; --card: #fff;
  --accent: #3b6ea5; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Liberation Sans", sans-serif; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; padding-bottom: 8px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 1.15rem; margin: 0 0 12px; font-weight: 650; }
.meta { margin: 0; color: var(--muted); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 20px 22px; margin: 18px 0; }
.notice { background: #fff8e6; border: 1px solid #ecd9a4; border-radius: 8px;
  padding: 12px 16px; margin: 18px 0 0; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 18px 0;
  padding: 0; }
@media (max-width: 640px) { .kpis { grid-template-columns: repeat(2, 1fr); } }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; }
.kpi dt { color: var(--muted); font-size: 0.8rem; text-transform: uppercase;
  letter-spacing: 0.04em; }
.kpi dd { margin: 2px 0 0; font-size: 1.35rem; font-weight: 650;
  font-variant-numeric: tabular-nums; }
.grid { display: grid; gap: 18px; }
.grid > * { min-width: 0; }
.grid.two { grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr));
  align-items: start; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 6px; }
.chart { overflow-x: auto; }
.chart svg { display: block; width: 100%; height: auto; }
.wide .chart svg { min-width: 640px; }
.chart svg * { stroke-linejoin: round; stroke-linecap: butt; }
.chart svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, "Liberation Sans", sans-serif !important; }
.empty-chart { display: flex; align-items: center; justify-content: center; min-height: 120px;
  margin: 0; border: 1px dashed var(--line); border-radius: 6px; color: var(--muted); }
.table-wrap { overflow-x: auto; margin-top: 18px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0 0 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 500; }
.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfb; }
tr.empty td { color: var(--muted); font-style: italic; text-align: center; padding: 14px; }
table.questions tbody th { overflow-wrap: anywhere; }
table.totals tbody th { width: 18em; }
details { margin-top: 14px; }
summary { cursor: pointer; color: var(--accent); }
.note { color: var(--muted); font-size: 0.9rem; margin: 8px 0 0; }
footer { color: var(--muted); font-size: 0.85rem; padding-bottom: 32px; }
@media print {
  body { background: #fff; }
  section, .kpi { border-color: #ccc; break-inside: avoid; }
  details > table, details .table-wrap { display: block; }
}
"""
