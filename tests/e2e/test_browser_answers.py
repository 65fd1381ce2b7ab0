"""Citations a patient can check, and votes on answers, in a real browser (headless
Chromium driven by Playwright, against `ldn-bot serve`): an answer's source link opens
the article with the quoted sentences highlighted; exactly one vote per answer, none on
small talk, notes or emergencies, each stored on its answer's turn."""

from __future__ import annotations

import os
import re
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from browser_page import BOT, ask, wait_text

from ldn_bot.ledger.store import sender_hash
from ldn_bot.settings import Settings

pytestmark = pytest.mark.model

VOTED = f"{BOT} .ldn-feedback"


def _open_chat(browser: object, server: str, **options: object) -> tuple[object, object]:
    context = browser.new_context(**options)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.locator("button.rw-launcher").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-reply').length > 0", timeout=30_000
    )
    return context, page


def test_an_answers_source_link_opens_the_article_with_the_quoted_sentences_highlighted(
    browser: object, server: str, cfg: Settings
) -> None:
    context, page = _open_chat(browser, server, viewport={"width": 390, "height": 844})
    ask(page, "what is naltrexone approved for?")
    wait_text(page, "alcohol dependence")
    answer = page.locator(BOT).filter(has_text="alcohol dependence").last
    # The answer and its source are one bubble, in words a patient understands.
    text = answer.inner_text()
    assert "Medical News Today, 12 June 2019" in text and "read the passage" in text
    assert not re.search(r"\bs[0-9]{2}\b", text) and "\\" not in text  # no ids, no escapes
    link = answer.locator("a", has_text="read the passage")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(r"/article\?q=s[0-9]{2}(,[sr][0-9]{1,2})*#s[0-9]{2}", href), href
    quoted = [unit for unit in href.split("?q=")[1].split("#")[0].split(",") if unit[0] == "s"]
    page.screenshot(path=str(cfg.root / "reports" / "browser" / "answer.png"))
    with context.expect_page() as opened:  # type: ignore[attr-defined]
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url.startswith(server.rstrip("/") + "/article?q=")
    marked = article.locator("mark.sentence").evaluate_all("(ms) => ms.map(m => m.id)")
    assert marked == quoted
    assert "alcohol dependence" in " ".join(article.locator("mark.sentence").all_inner_texts())
    assert article.evaluate("() => location.hash") == f"#{quoted[0]}"
    # Readable on a phone: nothing wider than the screen.
    assert article.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert article.locator("main h2").count() >= 2 and article.locator("h1").count() == 1
    article.screenshot(path=str(cfg.root / "reports" / "browser" / "article.png"))
    context.close()


def test_the_article_page_is_plain_for_a_query_it_does_not_understand(server: str) -> None:
    for query in (
        "q=%3Cscript%3Ealert(1)%3C/script%3E",
        "q=s99,zz",
        "q=%ff%fe",
        "q=" + "s1," * 900,
    ):
        with urllib.request.urlopen(f"{server.rstrip('/')}/article?{query}") as reply:
            page = reply.read().decode("utf-8")
            assert reply.status == 200
            assert "text/html" in reply.headers["Content-Type"]
            assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
        assert "<mark" not in page and "<script" not in page
        assert 'id="s46"' in page


def _voted_turns(serve_var: Path, session: str) -> list[tuple[str, str, str]]:
    """(vote, route, quoted sentence ids) of each stored vote of the session's conversation."""
    sender = f"socketio:{session.split('.')[0]}"
    salt = os.environ.get("LDN_BOT_SALT") or (serve_var / "salt").read_text().strip()
    with sqlite3.connect(serve_var / "conversations.sqlite") as db:
        rows = db.execute(
            "SELECT v.vote, t.route, t.sentence_ids FROM ledger_votes v"
            " JOIN ledger_turns t ON v.turn_id = t.id WHERE v.sender_hash = ? ORDER BY v.id",
            (sender_hash(sender, salt),),
        )
        return [tuple(row) for row in rows.fetchall()]


def test_exactly_one_vote_per_answer_none_on_small_talk_notes_or_emergencies(
    browser: object, server: str, serve_var: Path
) -> None:
    context, page = _open_chat(browser, server)
    assert page.locator(VOTED).count() == 0  # the disclaimer and the greeting

    ask(page, "what side effects can naltrexone cause?")
    wait_text(page, "not available in my copy")  # the note after the answer
    answer = page.locator(BOT).filter(has_text="read the passage").last
    note = page.locator(BOT).filter(has_text="not available in my copy").last
    assert answer.locator(".ldn-feedback").count() == 1
    assert note.locator(".ldn-feedback").count() == 0
    assert page.locator(VOTED).count() == 1

    ask(page, "hello there")
    wait_text(page, "Hello!", count=2)
    assert page.locator(VOTED).count() == 1  # small talk: no thumbs

    ask(page, "my friend swallowed a whole bottle of naltrexone and will not wake up")
    wait_text(page, "emergency services")
    assert page.locator(VOTED).count() == 1  # the emergency message: no thumbs

    ask(page, "how many milligrams of ldn should i start on?")
    wait_text(page, "I can't help with dosing")
    referral = page.locator(BOT).filter(has_text="I can't help with dosing").last
    assert referral.locator(".ldn-feedback").count() == 1
    assert page.locator(VOTED).count() == 2

    # The answer's one vote reaches the server for that answer's turn.
    answer.locator(".ldn-vote-up").click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.ldn-feedback-note'))"
        ".some(n => n.textContent.includes('Thanks'))",
        timeout=10_000,
    )
    assert "Thanks for your feedback" in answer.inner_text()
    referral.locator(".ldn-vote-down").click()
    page.wait_for_function("() => document.querySelectorAll('.ldn-voted').length >= 2")
    # Each vote is stored on the turn of the bubble it was given under.
    session = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
    voted = _voted_turns(serve_var, session)
    assert [(vote, route) for vote, route, _ in voted] == [
        ("up", "article_answer"),
        ("down", "doctor_referral"),
    ]
    quoted = answer.locator("a", has_text="read the passage").get_attribute("href") or ""
    first = voted[0][2].split(",")[0]
    assert first and f"q={first}" in quoted, (voted, quoted)  # the answer's own turn

    # After a reload (the conversation comes back from localStorage) the same bubbles
    # carry the thumbs, and the answer's vote is remembered.
    page.reload()
    page.wait_for_selector("button.rw-launcher", timeout=10_000)
    if not page.locator(".rw-conversation-container").is_visible():
        page.locator("button.rw-launcher").click()
    wait_text(page, "I can't help with dosing")
    assert page.locator(VOTED).count() == 2
    answer = page.locator(BOT).filter(has_text="read the passage").last
    assert "Thanks for your feedback" in answer.inner_text()
    context.close()
