"""What the ledger report shows, as typed, immutable values: `collect` fills them from the
database, the charts and the page only read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum

from ldn_bot.routing import Route

TOP_QUESTIONS = 20  # per group of unanswered questions
DOWN_VOTES_SHOWN = 50
REFS_SHOWN = 5  # links from one question to the conversations it was asked in
NO_TURN = "no turn"  # a vote whose turn is not in the ledger (deleted, or never linked)
NO_RULE = "(no rule)"
# The routes of a turn the bot did not answer from the article (or a fixed reply).
UNANSWERED = (Route.FALLBACK.value, Route.OUT_OF_SCOPE.value, Route.LANGUAGE.value)

Counts = tuple[tuple[str, int], ...]


class Group(str, Enum):
    """Why a question went unanswered."""

    NOT_COVERED = "not_covered"  # about LDN or MS, and the article does not say
    OFF_TOPIC = "off_topic"  # not about LDN or MS (or in a language the bot does not read)
    FAILURE = "failure"  # the bot failed: fail-closed guard, NLU error, action server down

    @property
    def heading(self) -> str:
        """The group's title in the report."""
        return _GROUP_TITLES[self]


_GROUP_TITLES = {
    Group.NOT_COVERED: "About LDN or MS, not covered by the article",
    Group.OFF_TOPIC: "Off-topic or in another language",
    Group.FAILURE: "Failures (not fallbacks)",
}


@dataclass(frozen=True)
class Day:
    """One UTC day of turns."""

    day: date
    conversations: int
    messages: int
    routes: Counts = ()

    def route(self, name: str) -> int:
        """Turns that got route `name` that day."""
        return dict(self.routes).get(name, 0)


@dataclass(frozen=True)
class GuardRule:
    """How often one guard rule decided a turn."""

    rule: str
    category: str
    count: int
    label: str = ""  # in plain language (`labels.yml`)


@dataclass(frozen=True)
class TurnRef:
    """Where a turn is in the report's transcripts: the page anchor of the turn."""

    turn_id: int
    conversation: str  # the transcript's anchor

    @property
    def anchor(self) -> str:
        """The turn's anchor in the page."""
        return f"turn-{self.turn_id}"


@dataclass(frozen=True)
class Question:
    """A question the bot could not answer, counted across spellings."""

    text: str  # the most common original form
    count: int
    route: str  # the most common route it got (fallback, out_of_scope or language)
    group: Group = Group.NOT_COVERED
    refs: tuple[TurnRef, ...] = field(default=(), compare=False)  # latest first


@dataclass(frozen=True)
class Failure:
    """Turns of one kind of failure (they are not fallbacks)."""

    kind: str
    label: str
    count: int
    refs: tuple[TurnRef, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class RouteFeedback:
    """Votes on the replies of one route."""

    route: str
    up: int
    down: int

    @property
    def net(self) -> int:
        """Votes up minus votes down."""
        return self.up - self.down


@dataclass(frozen=True)
class DownVote:
    """A thumbs down, with what the turn was (no text) and where its transcript is."""

    voted_at: datetime
    route: str
    intent: str | None
    guard_rule: str | None
    ref: TurnRef | None = None


@dataclass(frozen=True)
class TranscriptTurn:
    """One turn of a transcript: the person's message and the ledger's decisions."""

    turn_id: int
    at: datetime
    route: str
    intent: str | None
    confidence: float | None
    guard_category: str
    guard_rule: str | None
    rule_label: str | None
    guard_source: str | None
    source_label: str | None
    guard_context: str | None
    text: str | None  # None: not kept (or deleted)
    votes: tuple[int, ...] = ()  # +1 up, -1 down
    group: Group | None = None  # why it went unanswered, when it did
    responses: tuple[str, ...] = ()  # the responses sent (empty: not recorded)

    @property
    def anchor(self) -> str:
        """The turn's anchor in the page."""
        return f"turn-{self.turn_id}"


@dataclass(frozen=True)
class Transcript:
    """The turns of one conversation (a hashed sender) in the period."""

    key: str  # the page anchor
    sender: str  # a short prefix of the salted hash: never the id itself
    turns: tuple[TranscriptTurn, ...]
    left_out: int = 0  # turns far from every linked turn, not shown


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
    questions: tuple[Question, ...] = ()  # not covered and off-topic, top of each group
    unanswered: int = 0  # unanswered turns, failures left out
    unanswered_without_text: int = 0
    failures: tuple[Failure, ...] = ()
    votes_up: int = 0
    votes_down: int = 0
    feedback: tuple[RouteFeedback, ...] = ()
    down_votes: tuple[DownVote, ...] = ()
    transcripts: tuple[Transcript, ...] = ()
    channels: Counts = ()
    model_ids: Counts = ()
    article_versions: Counts = ()
    events_table: bool = False

    @property
    def empty(self) -> bool:
        """No turns and no votes in the period."""
        return self.turns == 0 and self.votes_up + self.votes_down == 0

    def route_count(self, route: str) -> int:
        """The number of turns that got `route`."""
        return dict(self.routes).get(route, 0)

    def share(self, route: str) -> float:
        """The share (0..1) of turns that got `route`."""
        return self.route_count(route) / self.turns if self.turns else 0.0

    @property
    def failed(self) -> int:
        """All failed turns."""
        return sum(item.count for item in self.failures)

    @property
    def fallback_rate(self) -> float:
        """Fallbacks, failures left out: a fallback turn that failed is counted there."""
        failed = sum(item.count for item in self.failures if item.kind in _FALLBACK_KINDS)
        fallbacks = self.route_count(Route.FALLBACK.value) - failed
        return fallbacks / self.turns if self.turns else 0.0

    @property
    def failure_rate(self) -> float:
        """The share (0..1) of turns that failed."""
        return self.failed / self.turns if self.turns else 0.0

    @property
    def out_of_scope_rate(self) -> float:
        """The share (0..1) of turns answered as out of scope."""
        return self.share(Route.OUT_OF_SCOPE.value)

    @property
    def referrals(self) -> int:
        """Turns referred to a doctor."""
        return self.route_count(Route.DOCTOR_REFERRAL.value)

    @property
    def emergencies(self) -> int:
        """Turns that got the emergency reply."""
        return self.route_count(Route.EMERGENCY.value)

    @property
    def guard_triggers(self) -> int:
        """Guard triggers in the period, all categories together."""
        return sum(count for _, count in self.guard_categories)

    @property
    def votes_net(self) -> int:
        """Votes up minus votes down."""
        return self.votes_up - self.votes_down

    def group(self, group: Group) -> tuple[Question, ...]:
        """The unanswered questions of `group`."""
        return tuple(item for item in self.questions if item.group is group)

    def period(self) -> tuple[date | None, date | None]:
        """First and last day covered: the requested bounds, else the data's extent."""
        start = self.since.date() if self.since else _day_of(self.first_turn)
        if self.until:
            end: date | None = (self.until - timedelta(microseconds=1)).date()
        else:
            end = _day_of(self.last_turn)
        return start, end

    def period_text(self) -> str:
        """`period` in words (UTC), or "all time" when it has no bounds."""
        start, end = self.period()
        if start and end:
            return f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (UTC)"
        if start:
            return f"since {start:%Y-%m-%d} (UTC)"
        if end:
            return f"until {end:%Y-%m-%d} (UTC)"
        return "all time"


# Failure kinds whose turns carry the fallback route ("I can't answer that right now").
NLU_FAILED = "nlu_failed"
NO_ACTION_REPLY = "no_action_reply"
FAIL_CLOSED = "fail_closed"
_FALLBACK_KINDS = frozenset({NLU_FAILED, NO_ACTION_REPLY})


def _day_of(moment: datetime | None) -> date | None:
    return moment.date() if moment else None
