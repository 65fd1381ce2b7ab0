"""Reading the ledger for the report: plain `select()`s of the needed columns, the same
on SQLite and PostgreSQL, dates bucketed in Python (UTC), results as `model` values."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, or_, select
from sqlalchemy.engine import Connection, Engine

from ldn_bot.guard.verdict import Category
from ldn_bot.ledger.conversations import EVENTS
from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.report.labels import FAILURE_LABELS, labels
from ldn_bot.ledger.report.model import (
    NO_RULE,
    NO_TURN,
    REFS_SHOWN,
    TOP_QUESTIONS,
    UNANSWERED,
    Day,
    DownVote,
    Failure,
    Group,
    GuardRule,
    Question,
    ReportData,
    RouteFeedback,
    TurnRef,
)
from ldn_bot.ledger.report.queries import (
    conversation_key,
    kept_texts,
    period,
    ranked,
    stream,
    utc,
)
from ldn_bot.ledger.report.transcripts import Linked, transcripts
from ldn_bot.routing import Route

ROUTE_ORDER = [route.value for route in Route]
CATEGORY_ORDER = [category.value for category in Category]


def collect(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = TOP_QUESTIONS,
) -> ReportData:
    """Read the ledger (and Rasa's conversation store, for question texts) for a period.

    Args:
        engine: the database holding the ledger tables and, usually, Rasa's `events`.
        since: first moment included; a naive datetime is taken as UTC.
        until: first moment excluded; a naive datetime is taken as UTC.
        top: the most frequent unanswered questions kept per group.

    Raises:
        RuntimeError: the ledger tables do not exist in this database.
    """
    since = utc(since) if since else None
    until = utc(until) if until else None
    inspector = inspect(engine)
    if not inspector.has_table(LedgerTurn.__tablename__):
        raise RuntimeError(
            "no ledger tables in this database: check the conversation store URL, "
            "or run `ldn-bot report` once, which creates them"
        )
    has_events = inspector.has_table(EVENTS.name)
    with engine.connect() as connection:
        turns = _turn_stats(connection, since, until)
        gaps = _unanswered(connection, since, until, has_events, top)
        votes = _vote_stats(connection, since, until)
        linked = Linked.of(gaps["questions"], gaps["failures"], votes["down_votes"])
        shown = transcripts(connection, linked, since, until, has_events)
    return ReportData(
        since=since,
        until=until,
        events_table=has_events,
        transcripts=shown,
        **turns,
        **gaps,
        **votes,
    )


def _turn_stats(
    connection: Connection, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    query = period(
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
    for row in stream(connection, query):
        created = utc(row.created_at)
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
                Day(day, len(senders[day]), messages[day], ranked(day_routes[day], ROUTE_ORDER))
            )
            day += timedelta(days=1)
    return {
        "first_turn": first,
        "last_turn": last,
        "turns": sum(messages.values()),
        "conversations": len(everyone),
        "days": tuple(days),
        "routes": ranked(routes, ROUTE_ORDER),
        "guard_categories": ranked(categories, CATEGORY_ORDER),
        "guard_rules": tuple(
            GuardRule(rule, category, count, labels().rule(rule) or rule)
            for (rule, category), count in sorted(rules.items(), key=lambda i: (-i[1], i[0]))
        ),
        "channels": ranked(channels),
        "model_ids": ranked(models),
        "article_versions": ranked(articles),
    }


def _unanswered(
    connection: Connection,
    since: datetime | None,
    until: datetime | None,
    has_events: bool,
    top: int,
) -> dict[str, Any]:
    """The unanswered questions (not covered, then off-topic, most frequent first, each
    group up to `top`), the failures by kind, and how many unanswered turns
    have no text anywhere (deleted from the conversation store, or never kept)."""
    vocabulary = labels()
    query = period(
        select(
            LedgerTurn.id,
            LedgerTurn.created_at,
            LedgerTurn.message_id,
            LedgerTurn.sender_hash,
            LedgerTurn.route,
            LedgerTurn.intent,
            LedgerTurn.guard_rule,
            LedgerTurn.responses,
            LedgerTurn.user_text,
        ).where(
            # every failure is on one of these routes, or has one of these rules or intents
            or_(
                LedgerTurn.route.in_(UNANSWERED),
                LedgerTurn.guard_rule.in_(sorted(vocabulary.failure_rules)),
                LedgerTurn.intent.in_(sorted(vocabulary.failure_intents)),
            )
        ),
        LedgerTurn.created_at,
        since,
        until,
    ).order_by(LedgerTurn.created_at.desc(), LedgerTurn.id.desc())
    rows = list(stream(connection, query))
    missing = {row.message_id for row in rows if not row.user_text}
    texts = kept_texts(connection, missing, [utc(row.created_at) for row in rows], has_events)
    failures: defaultdict[str, list[TurnRef]] = defaultdict(list)
    spellings: defaultdict[tuple[Group, str], Counter[str]] = defaultdict(Counter)
    routes: defaultdict[tuple[Group, str], Counter[str]] = defaultdict(Counter)
    refs: defaultdict[tuple[Group, str], list[TurnRef]] = defaultdict(list)
    unanswered = without_text = 0
    for row in rows:  # latest first
        ref = TurnRef(row.id, conversation_key(row.sender_hash))
        kind = vocabulary.failure(row.route, row.intent, row.guard_rule, row.responses)
        if kind:
            failures[kind].append(ref)
            continue
        unanswered += 1
        original = " ".join((row.user_text or texts.get(row.message_id) or "").split())
        if not original:
            without_text += 1
            continue
        group = vocabulary.group(row.route, row.intent, row.guard_rule, original, row.responses)
        assert group is not None and group is not Group.FAILURE
        key = (group, original.lower())
        spellings[key][original] += 1
        routes[key][row.route] += 1
        refs[key].append(ref)
    questions: list[Question] = []
    for group in (Group.NOT_COVERED, Group.OFF_TOPIC):
        keys = sorted(
            (key for key in spellings if key[0] is group),
            key=lambda key: (-sum(spellings[key].values()), key[1]),
        )
        questions += [
            Question(
                text=spellings[key].most_common(1)[0][0],
                count=sum(spellings[key].values()),
                route=routes[key].most_common(1)[0][0],
                group=group,
                refs=tuple(refs[key][:REFS_SHOWN]),
            )
            for key in keys[:top]
        ]
    return {
        "questions": tuple(questions),
        "unanswered": unanswered,
        "unanswered_without_text": without_text,
        "failures": tuple(
            Failure(kind, FAILURE_LABELS[kind], len(found), tuple(found[:REFS_SHOWN]))
            for kind, found in sorted(failures.items(), key=lambda item: -len(item[1]))
        ),
    }


def _vote_stats(
    connection: Connection, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    query = period(
        select(
            FeedbackVote.created_at,
            FeedbackVote.vote,
            LedgerTurn.id,
            LedgerTurn.sender_hash,
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
    for row in stream(connection, query):
        route = row.route or NO_TURN
        per_route[route][row.vote] += 1
        if row.vote == "down":
            ref = TurnRef(row.id, conversation_key(row.sender_hash)) if row.id else None
            down.append(DownVote(utc(row.created_at), route, row.intent, row.guard_rule, ref))
    order = [*ROUTE_ORDER, NO_TURN]
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
