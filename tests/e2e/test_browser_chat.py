"""The web chat in a real browser: Debian's headless Chromium driven by Playwright,
against `ldn-bot serve`. A conversation (fails if the page requests any non-local URL or
breaks its Content-Security-Policy), a phone's screen and the keyboard alone, the icons,
a question sent before the welcome, and the server-down message."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

import pytest
from browser_page import BOT, CHROMIUM, SIGNED_SESSION, USER, ask, bot_count, wait_text

from ldn_bot.settings import Settings

pytestmark = pytest.mark.model


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

    before = bot_count(page)
    page.locator(".rw-reply").first.click()  # a quick reply of the welcome message
    page.wait_for_function(
        f"() => document.querySelectorAll('{BOT}').length > {before}", timeout=30_000
    )

    wait_text(page, "Source:")

    ask(page, "how much LDN should I take?")
    wait_text(page, "I can't help with dosing")

    ask(page, "what is naltrexone approved for?")
    wait_text(page, "alcohol dependence")
    wait_text(page, "Source:", count=2)
    answers = " ".join(page.locator(BOT).all_inner_texts())
    assert "alcohol dependence" in answers and "Medical News Today" in answers

    evil = "<img src=x onerror=alert(1)>"
    ask(page, evil)
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
    wait_text(page, "alcohol dependence")
    # The server confirmed the same signed session: the conversation goes on, votes count.
    assert (
        page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
        == session
    )
    ask(page, "how much LDN should I take?")
    wait_text(page, "I can't help with dosing", count=2)
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


def test_the_replies_emoji_are_svg_icons(browser: object, server: str, cfg: Settings) -> None:
    """Without an emoji font 📄 and 🚨 showed as empty boxes: the page shows SVG icons."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.locator("button.rw-launcher").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.rw-reply').length > 0", timeout=30_000
    )
    ask(page, "what is naltrexone approved for?")
    wait_text(page, "Source:")
    ask(page, "I took 30 pills and my chest hurts")
    wait_text(page, "emergency services")
    texts = " ".join(page.locator(BOT).all_inner_texts())
    for glyph in ("\U0001f4c4", "\U0001f6a8", "\u2139"):
        assert glyph not in texts
    labels = page.locator(f"{BOT} svg.ldn-icon").evaluate_all(
        "(icons) => icons.map(i => i.getAttribute('aria-label'))"
    )
    assert {"Source", "Emergency", "Information"} <= set(labels), labels
    page.screenshot(path=str(cfg.root / "reports" / "browser" / "icons.png"))
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
    wait_text(page, "alcohol dependence")
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
