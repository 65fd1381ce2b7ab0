"""The web chat in a real browser: Debian's headless Chromium driven by Playwright,
against `ldn-bot serve`. Fails if the page requests any non-local URL."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

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
