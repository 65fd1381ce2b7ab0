"""The report as a review tool (issue 14, "from the report to better answers"): down-voted
turns and unanswered questions link to their conversation's transcript with the ledger's
decisions per turn; unanswered questions are split into gaps about LDN or MS, off-topic
ones and failures; `--export-nlu` writes them as candidate NLU examples to label; little
data and a 390 px screen stay readable; the templates ship with the package. Each test
seeds a real SQLite ledger through `Ledger`, as tests/test_report.py does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.report import Group, ReportData, collect, render_html
from ldn_bot.ledger.report.labels import about_ldn_or_ms, labels
from ldn_bot.ledger.report.nlu_export import PLACEHOLDER, nlu_yaml
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger
from ldn_bot.ledger.turns import TurnRecord, turn_record

UTC = timezone.utc
DAY = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CLI = (sys.executable, "-m", "rasa_project")
ANN, BEN = "sender-ann-7f3", "sender-ben-c41"

# message id, sender, minutes after DAY, route, intent, confidence, rule, source, context, text
TURNS = [
    (
        "a1",
        ANN,
        0,
        "article_answer",
        "ask_mechanism",
        0.91,
        None,
        "message",
        None,
        "How does naltrexone act on the immune system?",
    ),
    (
        "a2",
        ANN,
        1,
        "doctor_referral",
        "ask_dosing",
        0.88,
        "dosing.how_much",
        "message",
        None,
        "How many milligrams would suit me?",
    ),
    (
        "a3",
        ANN,
        2,
        "doctor_referral",
        "insist_dosing",
        0.77,
        "context",
        "context",
        "dosing",
        "come on just the number",
    ),
    (
        "a4",
        ANN,
        3,
        "out_of_scope",
        "not_covered",
        0.0,
        None,
        None,
        None,
        "Would it calm my psoriasis?",
    ),
    ("b1", BEN, 60, "fallback", "nlu_fallback", 0.31, None, None, None, "is ldn vegan friendly"),
    (
        "b2",
        BEN,
        61,
        "out_of_scope",
        "out_of_scope",
        0.0,
        None,
        None,
        None,
        "best pizza dough recipe?",
    ),
    ("b3", BEN, 62, "fallback", "nlu_failed", 1.0, None, None, None, "are you there"),
    (
        "b4",
        BEN,
        63,
        "fallback",
        "ask_mechanism",
        0.95,
        None,
        None,
        None,
        "what does it do to endorphins",
    ),
    (
        "b5",
        BEN,
        64,
        "doctor_referral",
        "ask_dosing",
        1.0,
        "error",
        "message",
        None,
        "tell me about ldn",
    ),
    (
        "b6",
        BEN,
        65,
        "language",
        "unsupported_language",
        1.0,
        None,
        None,
        None,
        "Hjälper LDN mot trötthet?",
    ),
    ("b7", BEN, 66, "fallback", "nlu_fallback", 0.2, None, None, None, "is ldn vegan friendly"),
]
# sender, bot message index, message id, vote
VOTES = [(ANN, 0, "a1", "up"), (ANN, 1, "a2", "down"), (BEN, 0, "b1", "down")]


def _record(row: tuple, day: datetime = DAY) -> TurnRecord:
    message_id, sender, minutes, route, intent, confidence, rule, source, context, text = row
    category = "none"
    if rule:
        category = "dosing" if rule in {"context", "error"} else rule.split(".")[0]
    return TurnRecord(
        message_id=message_id,
        created_at=day + timedelta(minutes=minutes),
        channel="rest",
        sender_id=sender,
        route=route,
        guard_category=category,
        guard_rule=rule,
        intent=intent,
        confidence=confidence,
        guard_source=source,
        guard_context=context,
        text=text,
    )


def _seed(path: Path, *, store_text: bool = True, rows: list[tuple] = TURNS) -> Engine:
    engine = engine_for(f"sqlite:///{path}")
    migrate(engine)
    ledger = Ledger(engine, salt="pepper", article_version="v1", store_text=store_text)
    assert ledger.write([_record(row) for row in rows]) == len(rows)
    for sender, index, message_id, vote in VOTES:
        if any(row[0] == message_id for row in rows):
            ledger.record_vote(
                channel="rest", sender_id=sender, bot_index=index, vote=vote, message_id=message_id
            )
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = _seed(tmp_path / "conversations.db")
    yield engine
    engine.dispose()


def _turn_html(page: str, anchor: str) -> str:
    """The transcript entry (`<li ... id="turn-N">`) of a turn."""
    found = re.search(rf'<li class="[^"]*" id="{anchor}">(.*?)</li>', page, flags=re.S)
    assert found, f"no transcript entry {anchor}"
    return found.group(1)


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# --- transcripts ---------------------------------------------------------------------------


def test_a_down_voted_turn_links_to_its_transcript_with_the_ledgers_decisions(
    engine: Engine,
) -> None:
    data = collect(engine)
    page = render_html(data)

    voted = {vote.ref.anchor for vote in data.down_votes if vote.ref}
    assert len(voted) == 2
    table = re.search(r'<table class="down-votes stack">(.*?)</table>', page, flags=re.S)
    assert table is not None
    links = set(re.findall(r'href="#(turn-\d+)"', table.group(1)))
    assert links == voted
    referral = next(v for v in data.down_votes if v.route == "doctor_referral")
    assert referral.ref is not None
    entry = _text(_turn_html(page, referral.ref.anchor))
    assert "How many milligrams would suit me?" in entry
    assert "Route doctor_referral" in entry
    assert "asks how much to take" in entry and "dosing.how_much" in entry  # label and id
    assert "Intent ask_dosing (0.88)" in entry
    assert "Decided by the message alone (message)" in entry
    assert "Votes −1" in entry
    # the turn sits in its conversation, with the turns before and after it
    article = re.search(
        rf'<article class="transcript" id="([^"]+)"[^>]*>'
        rf'(?:(?!</article>).)*id="{referral.ref.anchor}"',
        page,
        flags=re.S,
    )
    assert article and article.group(1) == referral.ref.conversation
    insisting = next(t for tr in data.transcripts for t in tr.turns if t.guard_rule == "context")
    entry = _text(_turn_html(page, insisting.anchor))
    assert "still asking within the dose context of an earlier referral" in entry
    assert "Decided by the dose context of an earlier referral (context)" in entry
    assert "Context dosing" in entry


def test_votes_keep_their_sign_in_transcripts_and_tables(engine: Engine) -> None:
    data = collect(engine)
    votes = {t.text: t.votes for tr in data.transcripts for t in tr.turns if t.votes}

    assert votes == {
        "How does naltrexone act on the immune system?": (1,),
        "How many milligrams would suit me?": (-1,),
        "is ldn vegan friendly": (-1,),
    }
    assert (data.votes_up, data.votes_down, data.votes_net) == (1, 2, -1)
    page = render_html(data)
    assert "+1 −2 (net −1)" in page  # the key figure
    assert '<span class="vote-up">+1</span>' in page and '<span class="vote-down">−1</span>' in page


def test_every_unanswered_question_and_failure_links_to_a_turn_in_the_page(
    engine: Engine,
) -> None:
    data = collect(engine)
    page = render_html(data)
    ids = set(re.findall(r'\bid="([^"]+)"', page))

    refs = [ref for item in (*data.questions, *data.failures) for ref in item.refs]
    assert len(refs) == 8  # every unanswered turn with text, and every failure
    for ref in refs:
        assert ref.anchor in ids and ref.conversation in ids
        assert f'href="#{ref.anchor}"' in page
    repeated = next(q for q in data.questions if q.count == 2)
    assert [ref.turn_id for ref in repeated.refs] == sorted(
        (ref.turn_id for ref in repeated.refs), reverse=True
    )  # latest first


def test_no_link_points_nowhere_when_transcripts_are_capped(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldn_bot.ledger.report import transcripts

    monkeypatch.setattr(transcripts, "TRANSCRIPTS_SHOWN", 1)
    data = collect(engine)
    page = render_html(data)

    assert len(data.transcripts) == 1
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and set(links) <= ids


def test_transcripts_keep_the_privacy_rules(tmp_path: Path) -> None:
    """No sender id in the page (a prefix of the salted hash names a conversation), and a
    text the ledger does not keep (and the conversation store no longer has) is not shown."""
    engine = _seed(tmp_path / "no-text.db", store_text=False)
    try:
        data = collect(engine)
    finally:
        engine.dispose()
    page = render_html(data)

    assert ANN not in page and BEN not in page
    assert "(text not kept)" in page
    assert "milligrams" not in page
    assert all(re.fullmatch(r"[0-9a-f]{12}", tr.sender) for tr in data.transcripts)
    assert data.unanswered_without_text == 5 and data.questions == ()


# --- three kinds of unanswered ---------------------------------------------------------------


def test_unanswered_splits_gaps_off_topic_and_failures(engine: Engine) -> None:
    data = collect(engine)

    gaps = {(q.text, q.count, q.route) for q in data.group(Group.NOT_COVERED)}
    assert gaps == {
        ("is ldn vegan friendly", 2, "fallback"),  # a fallback that names LDN is a gap
        ("Would it calm my psoriasis?", 1, "out_of_scope"),  # not_covered intent
    }
    off_topic = {(q.text, q.route) for q in data.group(Group.OFF_TOPIC)}
    assert off_topic == {
        ("best pizza dough recipe?", "out_of_scope"),
        ("Hjälper LDN mot trötthet?", "language"),
    }
    assert {item.kind: item.count for item in data.failures} == {
        "fail_closed": 1,  # guard rule `error`: referred because the guard failed
        "nlu_failed": 1,
        "no_action_reply": 1,  # an article intent that got "I can't answer that right now"
    }
    assert data.unanswered == 5 and data.failed == 3
    # failures are not fallbacks: of 4 fallback turns, 2 failed
    assert data.route_count("fallback") == 4
    assert data.fallback_rate == pytest.approx(2 / 11)
    page = render_html(data)
    failures = re.search(r'<table class="failures stack">(.*?)</table>', page, flags=re.S)
    assert failures and "fail closed" in failures.group(1)
    assert "action server did not answer" in failures.group(1)


def test_a_reply_that_did_not_come_is_a_failure_whatever_the_intent(tmp_path: Path) -> None:
    """The ledger keeps the turn's responses: "I can't answer that right now" after a
    low-confidence message (the fallback action's server was down) is a failure, and a
    fallback reply to an article intent (the article had nothing) is a fallback."""
    events = [
        {
            "event": "user",
            "text": "ldn and sleep quality?",
            "timestamp": DAY.timestamp(),
            "message_id": "c1",
            "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.2}},
        },
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_cannot_answer_now"}},
    ]
    down = turn_record(ANN, events)
    assert down is not None and down.responses == ("utter_cannot_answer_now",)
    events[0] = {
        **events[0],
        "message_id": "c2",
        "timestamp": DAY.timestamp() + 60,
        "parse_data": {"intent": {"name": "ask_mechanism", "confidence": 0.9}},
    }
    events[1] = {**events[1], "metadata": {"utter_action": "utter_fallback"}}
    answered = turn_record(ANN, events)
    assert answered is not None and answered.responses == ("utter_fallback",)
    engine = engine_for(f"sqlite:///{tmp_path / 'responses.db'}")
    migrate(engine)
    try:
        Ledger(engine, salt="s", article_version="v", store_text=True).write([down, answered])
        data = collect(engine)
    finally:
        engine.dispose()

    assert [(item.kind, item.count) for item in data.failures] == [("no_action_reply", 1)]
    assert [(q.text, q.group) for q in data.questions] == [
        ("ldn and sleep quality?", Group.NOT_COVERED)
    ]
    turns = {t.text: t for tr in data.transcripts for t in tr.turns}
    assert turns["ldn and sleep quality?"].responses == ("utter_fallback",)
    page = render_html(data)
    assert 'Reply</dt><dd class="responses">utter_cannot_answer_now' in page


@pytest.mark.parametrize(
    ("text", "about"),
    [
        ("could low dose naltrexone interact with my statins", True),
        ("does it cause hair loss", True),  # a not-covered term
        ("any research on relapses", True),  # plural of a domain word
        ("what's the weather tomorrow", False),
        ("how do i bake sourdough", False),  # question words alone are not the domain
        ("ok thanks then", False),
    ],
)
def test_about_ldn_or_ms_reads_the_scope_vocabulary(text: str, about: bool) -> None:
    assert about_ldn_or_ms(text) is about


def test_every_guard_rule_has_a_plain_language_label() -> None:
    rules_dir = ROOT / "src" / "ldn_bot" / "guard" / "rules"
    ids = {
        rule["id"]
        for name, key in (("guard.yml", "rules"), ("leaks.yml", "leaks"))
        for rule in yaml.safe_load((rules_dir / name).read_text(encoding="utf-8"))[key]
    }
    vocabulary = labels()

    assert ids and ids <= set(vocabulary.rules), sorted(ids - set(vocabulary.rules))
    assert vocabulary.rule("dosing.how_much") == "asks how much to take"
    assert vocabulary.rule("a.new_rule") == "a.new_rule"  # unknown ids stay readable
    for rule in vocabulary.failure_rules:
        assert "fail closed" in vocabulary.rules[rule]
    assert set(vocabulary.sources) == {"message", "window", "context"}


# --- --export-nlu -----------------------------------------------------------------------------


def test_export_nlu_is_rasa_yaml_for_a_person_to_label(engine: Engine) -> None:
    exported = nlu_yaml(collect(engine))
    loaded = yaml.safe_load(exported)

    assert loaded["version"] == "3.1"
    assert [entry["intent"] for entry in loaded["nlu"]] == list(PLACEHOLDER.values())
    texts = [[example["text"] for example in entry["examples"]] for entry in loaded["nlu"]]
    assert texts == [
        ["is ldn vegan friendly", "Would it calm my psoriasis?"],
        ["best pizza dough recipe?", "Hjälper LDN mot trötthet?"],
    ]
    assert '  # intent: ?  seen 2 times, route fallback\n  - text: "is ldn vegan friendly"' in (
        exported
    )
    assert "# intent: ?  seen once, route language" in exported
    assert "are you there" not in exported  # failures are not language to learn
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    training = RasaYAMLReader().reads(exported)
    assert sorted(example.get("text") for example in training.intent_examples) == sorted(
        text for group in texts for text in group
    )


def test_export_nlu_of_nothing_is_still_valid(tmp_path: Path) -> None:
    engine = _seed(tmp_path / "empty.db", rows=[])
    try:
        exported = nlu_yaml(collect(engine))
    finally:
        engine.dispose()
    assert yaml.safe_load(exported) == {"version": "3.1", "nlu": []}


def test_export_nlu_escapes_what_people_typed() -> None:
    from ldn_bot.ledger.report import Question

    odd = ["a: b # not a comment", '- "quoted" \\ and \x07', "line\nbreak", "émoji 😀", "? key"]
    data = ReportData(
        questions=tuple(Question(text, 1, "fallback", Group.OFF_TOPIC) for text in odd)
    )
    loaded = yaml.safe_load(nlu_yaml(data))
    assert [example["text"] for example in loaded["nlu"][0]["examples"]] == odd


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "report", *args],
        cwd=tmp_path,
        env={**os.environ, "LDN_BOT_VAR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_report_export_nlu_command(engine: Engine, tmp_path: Path) -> None:
    url = str(engine.url)
    out = tmp_path / "review" / "candidates.yml"

    result = _cli(tmp_path, "--database-url", url, "--export-nlu", str(out))

    assert result.returncode == 0, result.stderr
    assert "4 candidate NLU example(s) written to" in result.stdout
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["version"] == "3.1"
    assert not (tmp_path / "report.html").exists()  # only the export was asked for
    both = _cli(tmp_path, "--database-url", url, "--export-nlu", str(out), "--out", "r.html")
    assert both.returncode == 0 and (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--export-nlu"],  # no file
        ["--export-nlu", str(ROOT / "data" / "candidates.yml")],  # training would read it
        ["--export-nlu", str(ROOT / "data" / "nlu" / "more.yml")],
        ["--export-nlu", "."],  # a folder
        ["--export-nlu", "candidates.txt"],  # not YAML
    ],
)
def test_export_nlu_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = _cli(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'x.db'}", *args)

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("usage: ldn-bot report"), result.stderr
    assert (
        not list((ROOT / "data").glob("candidates*")) and not (ROOT / "data/nlu/more.yml").exists()
    )


# --- little data, a phone, the package ---------------------------------------------------


def test_one_day_of_data_is_a_table_and_a_chart_of_totals_not_one_giant_bar(
    engine: Engine,
) -> None:
    data = collect(engine)
    assert len(data.days) == 1
    page = render_html(data)

    activity = re.search(r'<figure class="activity"[^>]*>(.*?)</figure>', page, flags=re.S)
    assert activity and "<svg" not in activity.group(1)
    assert "1 day(s) of data: 11 messages in 2 conversations" in activity.group(1)
    routes = re.search(r'<figure class="routes"[^>]*>(.*?)</figure>', page, flags=re.S)
    assert routes and "<svg" in routes.group(1)
    assert "Horizontal bar chart of routes over the period" in routes.group(1)
    assert "<details open><summary>Daily numbers</summary>" in page


def test_the_css_keeps_a_phone_screen_readable() -> None:
    css = (files("ldn_bot.ledger.report") / "templates" / "report.css").read_text("utf-8")

    phone = css[css.rindex("@media (max-width: 640px)") :]
    assert ".wide .chart svg" in phone  # wide charts scroll inside their box
    assert ".chart { overflow-x: auto; }" in css and ".table-wrap { overflow-x: auto;" in css
    assert ".legend { display: flex; flex-wrap: wrap;" in css  # legends are HTML and wrap
    assert "overflow-wrap: anywhere" in css  # long words in messages do not widen the page


def test_templates_are_found_through_the_package() -> None:
    package = files("ldn_bot.ledger.report")
    for name in ("templates/report.html.j2", "templates/macros.html.j2", "templates/report.css"):
        assert (package / name).is_file(), name
    assert (package / "labels.yml").is_file()
    assert (files("ldn_bot.knowledge") / "scope.yml").is_file()


def test_a_built_wheel_ships_the_templates_and_labels(tmp_path: Path) -> None:
    """What a fresh `pip install` gets: the wheel built from pyproject.toml (in a copy of
    the sources, so the build leaves nothing in the checkout)."""
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("src", "actions", "rasa_project"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", source)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--quiet", "-w", str(tmp_path), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("ldn_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "ldn_bot/ledger/report/templates/report.html.j2",
        "ldn_bot/ledger/report/templates/macros.html.j2",
        "ldn_bot/ledger/report/templates/report.css",
        "ldn_bot/ledger/report/labels.yml",
        "ldn_bot/knowledge/scope.yml",
    ):
        assert name in names, name


def test_report_at_390_px_in_headless_chromium(engine: Engine, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render_html(collect(engine)), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith("file://") else route.abort()
                ),
            )
            page.goto(report.as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            for selector in ("figure", ".legend", ".kpi", ".turn", "section"):
                boxes = page.locator(selector)
                assert boxes.count(), selector
                for index in range(boxes.count()):
                    box = boxes.nth(index).bounding_box()
                    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390.5, (
                        selector,
                        box,
                    )
            for legend in page.locator(".legend li").all():
                box = legend.bounding_box()
                assert box and box["x"] + box["width"] <= 390.5  # legends wrap, never clipped
            # a link from the down votes scrolls to the turn, highlighted
            page.locator("table.down-votes a").first.click()
            target = page.locator(".turn:target")
            assert target.count() == 1 and target.is_visible()
            (ROOT / "reports").mkdir(exist_ok=True)
            page.goto(report.as_uri())
            page.screenshot(path=str(ROOT / "reports" / "report-390.png"), full_page=True)
        finally:
            browser.close()
