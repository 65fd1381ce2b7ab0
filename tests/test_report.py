"""The ledger report on a real SQLite file: Alembic's ledger tables, Rasa's `events` table,
turns written by `Ledger`, votes by `Ledger.record_vote`. The HTML is checked as text and
in headless Chromium with every non-file request blocked."""

from __future__ import annotations

import json
import re
from ast import literal_eval
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    text,
)
from sqlalchemy.engine import Engine

from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.report import (
    NO_TURN,
    Group,
    Question,
    ReportData,
    RouteFeedback,
    collect,
    render_html,
    summary_text,
)
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger
from ldn_bot.ledger.turns import TurnRecord

UTC = timezone.utc
D1, D2, D3 = (datetime(2025, 3, day, tzinfo=UTC) for day in (1, 2, 3))
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EVIL = "<script>alert(1)</script>"

# Rasa's `events` table as its SQLTrackerStore creates it.
RASA = MetaData()
RASA_EVENTS = Table(
    "events",
    RASA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# One row per turn: message id, day of March 2025 and UTC time, sender, route, guard rule
# (its category is the part before the dot), where the text is kept, the text.
TURNS_TABLE = r"""
m01 1 09:00 alice article_answer  -                   events  'What is LDN?'
m02 1 09:01 alice fallback        -                   events  'What is LDN made of?'
m03 1 09:02 alice doctor_referral dosing.how_much     events  'How much?'
m04 1 14:00 bob   smalltalk       -                   events  'hi'
m05 1 14:01 bob   out_of_scope    -                   events  '  Can I   drink coffee? '
m06 2 10:00 alice fallback        -                   events  'what is ldn\nmade of?'
m07 2 11:00 bob   emergency       emergency.self_harm events  'help'
m08 2 12:00 carol doctor_referral pill_splitting.cut  events  'cut?'
m09 2 12:01 carol article_answer  -                   events  'side effects?'
m10 2 12:02 carol fallback        -                   events  '<script>alert(1)</script>'
m11 3 23:59 dave  doctor_referral dosing.how_much     events  'dose?'
m12 3 08:00 dave  out_of_scope    -                   events  'Can I drink coffee?'
m13 3 08:05 dave  fallback        -                   ledger  'What is LDN made of?'
m14 3 08:10 erin  fallback        -                   nowhere 'lost'
"""
INTENTS = {
    "article_answer": "ask_article",
    "fallback": "nlu_fallback",
    "doctor_referral": "ask_dosing",
    "smalltalk": "greet",
    "out_of_scope": "out_of_scope",
    "emergency": "emergency",
}


@dataclass(frozen=True)
class Turn:
    message_id: str
    at: datetime
    sender: str
    route: str
    rule: str | None
    kept: str
    text: str

    @property
    def intent(self) -> str:
        return INTENTS[self.route]


def _turns(table: str) -> list[Turn]:
    turns = []
    for line in table.strip().splitlines():
        message_id, day, time, sender, route, rule, kept, literal = line.split(maxsplit=7)
        at = datetime.fromisoformat(f"2025-03-{int(day):02d}T{time}+00:00")
        rule_or_none = None if rule == "-" else rule
        turns.append(Turn(message_id, at, sender, route, rule_or_none, kept, literal_eval(literal)))
    return turns


TURNS = _turns(TURNS_TABLE)
# sender, message id voted on, vote
VOTES = [
    ("alice", "m01", "up"),
    ("alice", "m02", "down"),
    ("carol", "m09", "up"),
    ("dave", "m11", "down"),
    ("erin", None, "up"),
    ("bob", "m-not-in-ledger", "up"),
]
TABLE_CAPTIONS = [
    "Turns per day",
    "Guard triggers by rule",
    "About LDN or MS, not covered by the article (top 20)",
    "Off-topic or in another language (top 20)",
    "Failures: the bot failed, it did not fall back",
    "Feedback by route",
    "Down-voted turns, latest first",
    "Totals summary",
]


def _record(turn: Turn) -> TurnRecord:
    return TurnRecord(
        message_id=turn.message_id,
        created_at=turn.at,
        channel="rest",
        sender_id=turn.sender,
        route=turn.route,
        guard_category=turn.rule.split(".")[0] if turn.rule else "none",
        guard_rule=turn.rule,
        intent=turn.intent,
        confidence=0.9,
        sentence_ids=("s1",) if turn.route == "article_answer" else (),
        model_id="model-20250301",
        text=turn.text,
    )


def _event(sender: str, kind: str, moment: datetime, **data: object) -> dict[str, object]:
    payload = {"event": kind, "timestamp": moment.timestamp(), **data}
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": moment.timestamp(),
        "intent_name": None,
        "action_name": None,
        "data": json.dumps(payload),
    }


def _database(path: Path) -> Engine:
    engine = engine_for(f"sqlite:///{path}")
    migrate(engine)
    return engine


def _populate(engine: Engine) -> None:
    """Three days of conversations: Rasa's events, the ledger rows, and votes."""
    migrate(engine)
    RASA.create_all(engine)
    events = [_event("noise", "action", D1, name="action_listen")]
    for turn in TURNS:
        if turn.kept == "events":
            events.append(
                _event(
                    turn.sender,
                    "user",
                    turn.at,
                    text=turn.text,
                    message_id=turn.message_id,
                    input_channel="rest",
                    parse_data={"intent": {"name": turn.intent, "confidence": 0.9}},
                )
            )
        events.append(_event(turn.sender, "bot", turn.at, text="What is LDN made of?"))
    events.append(_event("frank", "user", D3, text="unrelated", message_id="m99"))
    with engine.begin() as connection:
        connection.execute(insert(RASA_EVENTS), events)

    ledger = Ledger(engine, salt="s", article_version="abc")
    keeping_text = Ledger(engine, salt="s", article_version="abc", store_text=True)
    assert ledger.write([_record(row) for row in TURNS if row.kept != "ledger"]) == 13
    assert keeping_text.write([_record(row) for row in TURNS if row.kept == "ledger"]) == 1
    for bot_index, (sender, message_id, vote) in enumerate(VOTES):
        # Each vote on its own bot message: a second vote on one message replaces the first.
        ledger.record_vote(
            channel="rest", sender_id=sender, bot_index=bot_index, vote=vote, message_id=message_id
        )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = engine_for(f"sqlite:///{tmp_path / 'conversations.db'}")
    _populate(engine)
    yield engine
    engine.dispose()


def test_collect_counts_days_routes_guard_and_rates(engine: Engine) -> None:
    data = collect(engine)

    assert (data.turns, data.conversations) == (14, 5)
    assert [(d.day.isoformat(), d.conversations, d.messages) for d in data.days] == [
        ("2025-03-01", 2, 5),
        ("2025-03-02", 3, 5),
        ("2025-03-03", 2, 4),  # 23:59 UTC is still the 3rd
    ]
    assert dict(data.days[1].routes) == {
        "emergency": 1,
        "doctor_referral": 1,
        "article_answer": 1,
        "fallback": 2,
    }
    assert dict(data.routes) == {
        "emergency": 1,
        "doctor_referral": 3,
        "article_answer": 2,
        "out_of_scope": 2,
        "fallback": 5,
        "smalltalk": 1,
    }
    assert data.guard_categories == (("emergency", 1), ("pill_splitting", 1), ("dosing", 2))
    assert [(r.rule, r.category, r.count) for r in data.guard_rules] == [
        ("dosing.how_much", "dosing", 2),
        ("emergency.self_harm", "emergency", 1),
        ("pill_splitting.cut", "pill_splitting", 1),
    ]
    assert data.guard_triggers == 4
    assert data.fallback_rate == pytest.approx(5 / 14)
    assert data.out_of_scope_rate == pytest.approx(2 / 14)
    assert (data.referrals, data.emergencies) == (3, 1)
    assert data.model_ids == (("model-20250301", 14),)
    assert data.article_versions == (("abc", 14),)
    assert data.first_turn == D1 + timedelta(hours=9)
    assert data.last_turn == D3 + timedelta(hours=23, minutes=59)
    assert data.period_text() == "2025-03-01 to 2025-03-03 (UTC)"


def test_unanswered_questions_take_their_text_from_the_conversation_store(engine: Engine) -> None:
    data = collect(engine)

    assert data.events_table
    assert data.questions == (
        # two from events, one kept in the ledger; it names LDN: a gap, not off-topic
        Question("What is LDN made of?", 3, "fallback", Group.NOT_COVERED),
        Question("Can I drink coffee?", 2, "out_of_scope", Group.OFF_TOPIC),
        Question(EVIL, 1, "fallback", Group.OFF_TOPIC),
    )
    assert (data.unanswered, data.unanswered_without_text) == (7, 1)


def test_feedback_up_down_per_route_and_down_voted_turns(engine: Engine) -> None:
    data = collect(engine)

    assert (data.votes_up, data.votes_down) == (4, 2)
    assert data.feedback == (
        RouteFeedback("doctor_referral", 0, 1),
        RouteFeedback("article_answer", 2, 0),
        RouteFeedback("fallback", 0, 1),
        RouteFeedback(NO_TURN, 2, 0),
    )
    assert sorted((v.route, v.intent, v.guard_rule) for v in data.down_votes) == [
        ("doctor_referral", "ask_dosing", "dosing.how_much"),
        ("fallback", "nlu_fallback", None),
    ]


@pytest.mark.parametrize(
    "since",
    [
        datetime(2025, 3, 2, tzinfo=UTC),
        datetime(2025, 3, 2),  # naive: taken as UTC
        datetime(2025, 3, 2, 1, tzinfo=timezone(timedelta(hours=1))),  # the same moment
    ],
)
def test_since_leaves_out_earlier_turns(engine: Engine, since: datetime) -> None:
    data = collect(engine, since=since)

    assert data.turns == 9
    assert [d.day.isoformat() for d in data.days] == ["2025-03-02", "2025-03-03"]
    assert data.conversations == 5
    assert data.route_count("fallback") == 4 and data.route_count("smalltalk") == 0
    assert [(q.text.lower(), q.count) for q in data.questions] == [
        ("what is ldn made of?", 2),
        (EVIL, 1),  # ties in alphabetical order
        ("can i drink coffee?", 1),
    ]
    assert data.period_text() == "2025-03-02 to 2025-03-03 (UTC)"
    assert (data.votes_up, data.votes_down) == (4, 2)  # votes are cast now, after `since`


def test_until_is_exclusive_and_filters_votes_too(engine: Engine) -> None:
    data = collect(engine, since=D1, until=D2)

    assert data.turns == 5 and [d.messages for d in data.days] == [5]
    assert [q.count for q in data.questions] == [1, 1]
    assert (data.votes_up, data.votes_down, data.feedback) == (0, 0, ())
    assert data.period_text() == "2025-03-01 to 2025-03-01 (UTC)"


def test_empty_database(tmp_path: Path) -> None:
    engine = _database(tmp_path / "empty.db")  # ledger tables only, no Rasa events table
    try:
        data = collect(engine)
    finally:
        engine.dispose()

    assert data.empty and not data.events_table
    assert (data.turns, data.days, data.questions, data.feedback) == (0, (), (), ())
    assert data.fallback_rate == 0.0
    page = render_html(data)
    assert "No data in this period" in page
    assert "<svg" not in page and page.count("<figure") == 5
    for caption in TABLE_CAPTIONS:
        assert f"<caption>{caption}</caption>" in page
    assert "No unanswered questions about LDN or MS in this period." in page
    assert "No off-topic questions in this period." in page
    assert "No failures in this period." in page
    assert "No feedback votes in this period." in page
    summary = summary_text(data)
    assert "No turns in the ledger for this period." in summary
    assert "Feedback: 0 up, 0 down" in summary


def test_a_period_without_data_is_empty(engine: Engine) -> None:
    data = collect(engine, since=datetime(2030, 1, 1, tzinfo=UTC))

    assert data.empty
    assert data.period_text() == "since 2030-01-01 (UTC)"
    assert "No data in this period" in render_html(data)


def test_a_database_without_ledger_tables_is_an_actionable_error(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with pytest.raises(RuntimeError, match="no ledger tables"):
            collect(engine)
    finally:
        engine.dispose()


def _comparable(data: ReportData) -> ReportData:
    """The report without what differs between two runs: when it was made and cast votes."""
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    down_votes = tuple(replace(vote, voted_at=moment) for vote in data.down_votes)
    return replace(data, generated_at=moment, down_votes=down_votes)


@pytest.mark.services
def test_postgresql_gives_the_same_report(engine: Engine, pg_redis: dict[str, str]) -> None:
    url = pg_redis["LDN_BOT_DATABASE_URL"]
    schema = "ldn_report_test"  # its own schema: the other tests' tables stay untouched
    with create_engine(url, future=True).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    postgres = create_engine(url, future=True, connect_args={"options": f"-c search_path={schema}"})
    try:
        _populate(postgres)
        for since in (None, D2):
            on_postgres = collect(postgres, since=since)
            assert on_postgres.turns and on_postgres.events_table
            assert _comparable(on_postgres) == _comparable(collect(engine, since=since))
    finally:
        postgres.dispose()


def test_summary_text(engine: Engine) -> None:
    summary = summary_text(collect(engine))
    lines = summary.splitlines()

    assert 5 <= len(lines) <= 12
    assert lines[0] == "Ledger report, 2025-03-01 to 2025-03-03 (UTC)"
    assert "Turns: 14 in 5 conversation(s)" in lines
    assert "fallback 35.7%" in summary and "article_answer 14.3%" in summary
    assert "Fallback rate: 35.7%, out of scope: 14.3%" in summary
    assert "doctor referrals: 3, emergencies: 1" in summary
    assert (
        "Guard triggers: 4; top rules: dosing.how_much (2), emergency.self_harm (1), "
        "pill_splitting.cut (1)"
    ) in lines
    assert "    3 x What is LDN made of? [fallback]" in lines
    assert "    2 x Can I drink coffee? [out_of_scope]" in lines
    assert lines[-1] == "Feedback: 4 up, 2 down"


def test_summary_text_cannot_drive_the_terminal() -> None:
    typed = "\x1b[2J\x1b]0;owned\x07 hello"
    data = ReportData(
        turns=1, routes=(("fallback", 1),), questions=(Question(typed, 1, "fallback"),)
    )

    summary = summary_text(data)

    assert "\x1b" not in summary and "\x07" not in summary
    assert "\ufffd[2J\ufffd]0;owned\ufffd hello" in summary


class _References(HTMLParser):
    """Every way a parsed page could load something: tags that fetch, attributes holding a
    URL, and `url(...)`/`@import` in style sheets and style attributes."""

    FETCHING_TAGS = frozenset({"script", "link", "iframe", "img", "object", "embed", "base"})
    URL_ATTRIBUTES = frozenset({"src", "srcset", "href", "xlink:href", "action", "poster"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        if tag in self.FETCHING_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and not (value or "").startswith("#"):
                self.found.append(f"{name}={value}")
            if name == "style":
                self._css(value or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        self.found += re.findall(r"""url\(\s*(?!["']?#)[^)]*\)|@import""", css)


def _outside_references(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser.found + re.findall(r"(?i)https?://\S*", page)


def test_the_reference_check_finds_leaks() -> None:
    page = (
        '<link rel="stylesheet" href="x.css"><style>@import "a.css"; b { background: url(c.png) }'
        '</style><svg><use xlink:href="#ok"/><image href="d.png"/></svg><p style="e: url(f)">'
        "https://g.example</p>"
    )
    assert len(_outside_references(page)) == 7


def test_html_has_no_external_references(engine: Engine) -> None:
    page = render_html(collect(engine))

    assert page.startswith("<!DOCTYPE html>")
    assert _outside_references(page) == []
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "<metadata" not in page
    assert page.count("<svg") == 5 and page.count('role="img"') == 5
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids must be unique across the inline SVGs"
    assert "http://www.w3.org" not in page  # not even the SVG namespaces


def test_html_escapes_text_from_the_database(engine: Engine) -> None:
    page = render_html(collect(engine), title="<b>report</b>")

    assert EVIL not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>&lt;b&gt;report&lt;/b&gt;</title>" in page


def test_a_url_someone_typed_stays_text() -> None:
    typed = 'see https://evil.example/x.js "<img src=x onerror=alert(1)>"'
    data = ReportData(
        turns=1,
        conversations=1,
        routes=(("fallback", 1),),
        questions=(Question(typed, 1, "fallback"),),
        unanswered=1,
    )

    page = render_html(data)

    assert _outside_references(page) == []
    assert "<img" not in page
    assert "see https&#58;//evil.example/x.js &quot;&lt;img src=x" in page


def test_report_in_headless_chromium(engine: Engine, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import Route, sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render_html(collect(engine)), encoding="utf-8")
    blocked: list[str] = []
    errors: list[str] = []

    def only_files(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: errors.append(message.text))
            page.on("dialog", lambda dialog: (errors.append(dialog.message), dialog.dismiss()))
            page.on(
                "request",
                lambda request: (
                    None if request.url.startswith("file://") else blocked.append(request.url)
                ),
            )
            page.route("**/*", only_files)
            page.goto(report.as_uri())
            page.wait_for_load_state("load")

            assert page.title() == "ldn-bot report"
            figures = page.locator("figure")
            assert figures.count() == 5
            for index in range(5):
                figure = figures.nth(index)
                assert figure.locator("figcaption").inner_text().strip()
                wrapper = figure.locator('[role="img"]')
                assert wrapper.get_attribute("aria-label")
                box = wrapper.locator("svg").bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 50, box
                assert figure.locator("svg text").count() > 3  # labels stay text

            assert page.locator("table caption").all_text_contents() == TABLE_CAPTIONS
            assert page.locator("table thead").count() == len(TABLE_CAPTIONS)
            questions = page.locator("table.questions tbody tr")
            assert questions.count() == 3
            assert questions.first.inner_text().split("\t")[:3] == [
                "What is LDN made of?",
                "3",
                "fallback",
            ]
            assert questions.nth(2).locator("th").inner_text() == EVIL  # shown, not run
            rules = page.locator("table", has=page.locator("caption", has_text="by rule"))
            assert rules.locator("tbody tr").first.inner_text().split("\t")[:3] == [
                "asks how much to take dosing.how_much",
                "dosing",
                "2",
            ]
            feedback = page.locator("table", has=page.locator("caption", has_text="by route"))
            assert feedback.locator("tbody tr").last.inner_text().split("\t") == [
                "All routes",
                "+4",
                "−2",
                "+2",
                "66.7%",
            ]
            assert page.locator(".kpi dd").first.inner_text() == "14"

            (ROOT / "reports").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "reports" / "report.png"), full_page=True)
        finally:
            browser.close()

    assert blocked == []
    assert errors == []
