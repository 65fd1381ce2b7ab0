"""The web chat in a real browser: Debian's headless Chromium driven by Playwright,
against `ldn-bot serve`. Fails if the page requests any non-local URL."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import statistics
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ldn_bot.ledger.store import sender_hash
from ldn_bot.settings import Settings

pytestmark = pytest.mark.model

CHROMIUM = Path("/usr/bin/chromium")
SIGNED_SESSION = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")
BOT = "#rw-messages .rw-from-response > .rw-message"
USER = "#rw-messages .rw-from-client > .rw-message"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _bot_count(page: object) -> int:
    return page.locator(BOT).count()  # type: ignore[attr-defined]


def _ask(page: object, text: str) -> None:
    before = _bot_count(page)
    page.locator(".rw-new-message").fill(text)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelectorAll('{BOT}').length > {before}", timeout=30_000
    )


# Predicates are arrow functions, not bare expressions: Playwright evaluates a bare
# expression with eval(), which the page's Content-Security-Policy (no 'unsafe-eval') refuses.


def _wait_text(page: object, needle: str, count: int = 1) -> None:
    """Wait until `count` bot bubbles contain `needle` (the widget shows them one by one)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => Array.from(document.querySelectorAll('{BOT}'))"
        f".filter(m => m.innerText.includes({needle!r})).length >= {count}",
        timeout=30_000,
    )


def test_a_conversation_in_the_browser(browser: object, server: str, cfg: Settings) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    requested: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    console: list[str] = []  # the page must satisfy its Content-Security-Policy
    page.on("console", lambda message: console.append(message.text))

    page.goto(server)
    assert "LDN information assistant" in page.title()
    assert "not medical advice" in page.content()
    page.locator("button.rw-launcher").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('{BOT}').length >= 2 && "
        "document.querySelectorAll('.rw-reply').length > 0",
        timeout=30_000,
    )
    assert "not medical advice" in page.locator(BOT).first.inner_text()

    before = _bot_count(page)
    page.locator(".rw-reply").first.click()  # a quick reply of the welcome message
    page.wait_for_function(
        f"() => document.querySelectorAll('{BOT}').length > {before}", timeout=30_000
    )

    _wait_text(page, "Source:")

    _ask(page, "how much LDN should I take?")
    _wait_text(page, "I can't help with dosing")

    _ask(page, "what is naltrexone approved for?")
    _wait_text(page, "alcohol dependence")
    _wait_text(page, "Source:", count=2)
    answers = " ".join(page.locator(BOT).all_inner_texts())
    assert "alcohol dependence" in answers and "Medical News Today" in answers

    evil = "<img src=x onerror=alert(1)>"
    _ask(page, evil)
    assert evil in page.locator(USER).last.inner_text()
    assert page.locator(f"{USER} img").count() == 0 and dialogs == []

    # A vote on the last answer is taken: the page proves its session with the signed id.
    session = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
    assert SIGNED_SESSION.fullmatch(session), session  # issued by the server, not chosen
    answer = page.locator("#rw-messages .rw-from-response").filter(has_text="alcohol dependence")
    answer.last.locator(".ldn-vote-up").last.click()
    page.wait_for_selector(".ldn-voted", timeout=10_000)
    assert "Thanks for your feedback" in answer.last.inner_text()

    page.reload()  # the session id is kept in localStorage: the history continues
    page.wait_for_selector("button.rw-launcher", timeout=10_000)
    if not page.locator(".rw-conversation-container").is_visible():
        page.locator("button.rw-launcher").click()
    _wait_text(page, "alcohol dependence")
    # The server confirmed the same signed session: the conversation goes on, votes count.
    assert (
        page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
        == session
    )
    _ask(page, "how much LDN should I take?")
    _wait_text(page, "I can't help with dosing", count=2)
    referral = page.locator("#rw-messages .rw-from-response").filter(
        has_text="I can't help with dosing"
    )
    referral.last.locator(".ldn-vote-down").last.click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.ldn-feedback-note'))"
        ".some(n => n.textContent.includes('Thanks'))"
        " && document.querySelectorAll('.ldn-voted').length >= 2",
        timeout=10_000,
    )

    artifacts = cfg.root / "reports" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / "conversation.png"), full_page=True)

    hosts = {
        urlparse(url).hostname
        for url in requested
        if urlparse(url).scheme in ("http", "https", "ws", "wss")
    }
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    violations = [line for line in console if "Content Security Policy" in line]
    assert violations == [], "\n".join(violations)
    context.close()


def test_phone_sized_screen(browser: object, server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.locator("button.rw-launcher").click()
    page.wait_for_selector(".rw-conversation-container", timeout=10_000)
    box = page.locator(".rw-conversation-container").bounding_box()
    assert box is not None and box["width"] <= 375
    context.close()


def test_keyboard_only(browser: object, server: str) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "open-chat":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector(".rw-conversation-container", timeout=10_000)
    assert page.locator("button.rw-launcher").get_attribute("aria-label")
    assert page.locator(".rw-new-message").get_attribute("aria-label")
    context.close()


def test_chromium_is_debians() -> None:
    assert shutil.which("chromium") == str(CHROMIUM) or CHROMIUM.exists()


# Questions for the reply-time figure: article answers, referrals, small talk, off topic.
TIMED = [
    "what is naltrexone approved for?",
    "how much LDN should I take?",
    "what did the 2017 study find?",
    "is LDN safe?",
    "hello",
    "what's the capital of France?",
    "how does LDN work?",
    "can I cut a 50 mg tablet?",
]


def _rest_seconds(server: str, text: str, sender: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{server}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.status == 200 and json.loads(reply.read())
    return time.perf_counter() - start


def _timed_ask(page: object, text: str) -> float:
    """Milliseconds from Enter to the first bubble of the reply in the DOM (measured in the
    page with performance.now() and a MutationObserver)."""
    page.locator(".rw-new-message").fill(text)  # type: ignore[attr-defined]
    page.evaluate(  # type: ignore[attr-defined]
        """(selector) => {
            const before = document.querySelectorAll(selector).length;
            window.__ldnReply = null;
            const observer = new MutationObserver(() => {
                if (document.querySelectorAll(selector).length > before) {
                    window.__ldnReply = performance.now() - window.__ldnSent;
                    observer.disconnect();
                }
            });
            observer.observe(document.getElementById("ldn-webchat"),
                             {childList: true, subtree: true});
            const input = document.querySelector(".rw-new-message");
            input.addEventListener("keydown", () => { window.__ldnSent = performance.now(); },
                                   {once: true, capture: true});
        }""",
        BOT,
    )
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_function("() => window.__ldnReply !== null", timeout=30_000)  # type: ignore[attr-defined]
    return float(page.evaluate("() => window.__ldnReply"))  # type: ignore[attr-defined]


def test_reply_time_in_the_widget(browser: object, server: str, cfg: Settings) -> None:
    """Send-to-rendered time in the widget next to the REST latency of the same questions
    (the figure for README; replies are asserted to render, timings are not asserted)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    opened = time.perf_counter()
    page.locator("button.rw-launcher").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-reply').length > 0", timeout=30_000
    )
    quick_replies_ms = (time.perf_counter() - opened) * 1000
    widget_ms = [_timed_ask(page, text) for text in TIMED]
    rest_ms = [_rest_seconds(server, text, "reply-time") * 1000 for text in TIMED]
    assert page.locator(BOT).count() > len(TIMED)
    figures = {
        "questions": len(TIMED),
        "widget_p50_ms": round(statistics.median(widget_ms), 1),
        "widget_max_ms": round(max(widget_ms), 1),
        "rest_p50_ms": round(statistics.median(rest_ms), 1),
        "rest_max_ms": round(max(rest_ms), 1),
        "widget_minus_rest_p50_ms": round(
            statistics.median(widget_ms) - statistics.median(rest_ms), 1
        ),
        "quick_replies_after_open_ms": round(quick_replies_ms, 1),
        "widget_ms": [round(ms, 1) for ms in widget_ms],
        "rest_ms": [round(ms, 1) for ms in rest_ms],
    }
    out = cfg.root / "reports" / "browser" / "reply_time.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(
        "\nreply time:",
        json.dumps({k: v for k, v in figures.items() if "p50" in k or "after" in k}),
    )
    context.close()


def _stored(serve_var: Path, session: str) -> tuple[int, int]:
    sender = f"socketio:{session.split('.')[0]}"
    salt = os.environ.get("LDN_BOT_SALT") or (serve_var / "salt").read_text().strip()
    with sqlite3.connect(serve_var / "conversations.sqlite") as db:
        events = db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,))
        turns = db.execute(
            "SELECT COUNT(*) FROM ledger_turns WHERE sender_hash = ?",
            (sender_hash(sender, salt),),
        )
        return events.fetchone()[0], turns.fetchone()[0]


def test_delete_this_conversation(
    browser: object, server: str, serve_var: Path, cfg: Settings
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.locator("button.rw-launcher").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-reply').length > 0", timeout=30_000
    )
    _ask(page, "what is naltrexone approved for?")
    _wait_text(page, "alcohol dependence")
    session = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
    deadline = time.monotonic() + 10
    while _stored(serve_var, session)[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # the ledger row is written in the background
    assert all(_stored(serve_var, session)), _stored(serve_var, session)

    # The chat window covers a phone's screen: the button is in the window itself.
    bar = page.locator(".rw-conversation-container .ldn-chat-bar")
    bar.locator(".ldn-delete-ask").click()
    bar.locator(".ldn-delete-no").click()  # cancel: nothing happens
    assert _stored(serve_var, session)[0] > 0
    bar.locator(".ldn-delete-ask").click()
    artifacts = cfg.root / "reports" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / "delete-phone.png"))
    with page.expect_navigation():
        bar.locator(".ldn-delete-yes").click()
    assert _stored(serve_var, session) == (0, 0)

    # Afresh: the chat is open again with a new session and only the welcome messages.
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-reply').length > 0", timeout=30_000
    )
    fresh = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
    assert SIGNED_SESSION.fullmatch(fresh) and fresh != session
    assert "alcohol dependence" not in " ".join(page.locator(BOT).all_inner_texts())
    assert "deleted" in page.locator("#chat-status").inner_text()
    _ask(page, "what is naltrexone approved for?")
    _wait_text(page, "alcohol dependence")
    context.close()


def test_the_replies_emoji_are_svg_icons(browser: object, server: str, cfg: Settings) -> None:
    """Without an emoji font 📄 and 🚨 showed as empty boxes: the page shows SVG icons."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.locator("button.rw-launcher").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-reply').length > 0", timeout=30_000
    )
    _ask(page, "what is naltrexone approved for?")
    _wait_text(page, "Source:")
    _ask(page, "I took 30 pills and my chest hurts")
    _wait_text(page, "emergency services")
    texts = " ".join(page.locator(BOT).all_inner_texts())
    for glyph in ("\U0001f4c4", "\U0001f6a8", "\u2139"):
        assert glyph not in texts
    labels = page.locator(f"{BOT} svg.ldn-icon").evaluate_all(
        "(icons) => icons.map(i => i.getAttribute('aria-label'))"
    )
    assert {"Source", "Emergency", "Information"} <= set(labels), labels
    page.screenshot(path=str(cfg.root / "reports" / "browser" / "icons.png"))
    context.close()


def test_the_privacy_text_says_what_the_server_keeps(
    browser: object, server: str, cfg: Settings
) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    text = page.locator("body").inner_text()
    assert "never the text" not in text
    assert "The conversation is kept in this browser" not in text
    privacy = page.locator("section.privacy").inner_text()
    assert "text of the conversation" in privacy and "90 days" in privacy
    assert "without your words" in privacy  # LDN_BOT_LEDGER_TEXT is off
    assert page.locator("section.privacy .ldn-delete-ask").is_visible()
    page.screenshot(path=str(cfg.root / "reports" / "browser" / "privacy.png"), full_page=True)
    context.close()


def test_a_question_sent_before_the_welcome_is_shown_after_it(browser: object, server: str) -> None:
    """The greeting raced the user: a question sent as soon as the box was enabled was
    shown above the welcome messages (which then took thumbs). It is held until they are
    in, then sent, and its answer takes the vote."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.locator("button.rw-launcher").click()
    # In one task, the moment the box is enabled: type and send (as the widget's Enter does).
    bots_when_sent = page.evaluate(
        """(selector) => new Promise((resolve) => {
            const tick = () => {
                const input = document.querySelector(".rw-new-message");
                if (!input || input.disabled) { setTimeout(tick, 2); return; }
                const setter = Object.getOwnPropertyDescriptor(
                    Object.getPrototypeOf(input), "value").set;
                setter.call(input, "what is naltrexone approved for?");
                input.dispatchEvent(new Event("input", {bubbles: true}));
                const bots = document.querySelectorAll(selector).length;
                document.querySelector("form.rw-sender")
                    .dispatchEvent(new Event("submit", {cancelable: true}));
                resolve(bots);
            };
            tick();
        })""",
        BOT,
    )
    assert bots_when_sent == 0  # the race was run: nothing of the welcome was shown yet
    _wait_text(page, "alcohol dependence")
    order = page.locator("#rw-messages > .rw-group-message > .rw-message").evaluate_all(
        "(ms) => ms.map(m => (m.parentElement.classList.contains('rw-from-client')"
        " ? 'user: ' : 'bot: ') + m.innerText.replace(/\\s+/g, ' '))"
    )
    first_user = next(i for i, line in enumerate(order) if line.startswith("user: "))
    # the disclaimer and the greeting, then the question, then its answer
    assert first_user >= 2 and "not medical advice" in order[0], order
    assert "alcohol dependence" in " ".join(order[first_user + 1 :]), order
    assert page.locator(f"{BOT} .ldn-feedback").count() >= 1
    welcome = page.locator("#rw-messages > .rw-group-message > .rw-message")
    assert welcome.nth(0).locator(".ldn-feedback").count() == 0
    assert welcome.nth(1).locator(".ldn-feedback").count() == 0
    answer = page.locator("#rw-messages .rw-from-response").filter(has_text="alcohol dependence")
    answer.last.locator(".ldn-vote-up").last.click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.ldn-feedback-note'))"
        ".some(n => n.textContent.includes('Thanks'))",
        timeout=10_000,
    )
    context.close()


def test_the_server_down_message_shows_in_the_open_chat(browser: object, server: str) -> None:
    """It was only on the page, behind the open chat window (all of a phone's screen)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.route("**/socket.io/**", lambda route: route.abort())  # the chat server is down
    page.goto(server)
    page.locator("button.rw-launcher").click()
    status = page.locator(".rw-conversation-container .ldn-chat-status")
    page.wait_for_function(
        "() => (document.querySelector('.rw-conversation-container .ldn-chat-status') || {})"
        ".textContent?.includes('cannot be reached')",
        timeout=30_000,
    )
    assert status.is_visible()
    box = status.bounding_box()
    assert box is not None and 0 <= box["y"] < 844 and box["height"] > 0
    context.close()


# ---------------------------------------------------- citations a patient can check --

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
    _ask(page, "what is naltrexone approved for?")
    _wait_text(page, "alcohol dependence")
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

    _ask(page, "what side effects can naltrexone cause?")
    _wait_text(page, "not available in my copy")  # the note after the answer
    answer = page.locator(BOT).filter(has_text="read the passage").last
    note = page.locator(BOT).filter(has_text="not available in my copy").last
    assert answer.locator(".ldn-feedback").count() == 1
    assert note.locator(".ldn-feedback").count() == 0
    assert page.locator(VOTED).count() == 1

    _ask(page, "hello there")
    _wait_text(page, "Hello!", count=2)
    assert page.locator(VOTED).count() == 1  # small talk: no thumbs

    _ask(page, "my friend swallowed a whole bottle of naltrexone and will not wake up")
    _wait_text(page, "emergency services")
    assert page.locator(VOTED).count() == 1  # the emergency message: no thumbs

    _ask(page, "how many milligrams of ldn should i start on?")
    _wait_text(page, "I can't help with dosing")
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
    _wait_text(page, "I can't help with dosing")
    assert page.locator(VOTED).count() == 2
    answer = page.locator(BOT).filter(has_text="read the passage").last
    assert "Thanks for your feedback" in answer.inner_text()
    context.close()
