"""What the server keeps, in a real browser (headless Chromium driven by Playwright,
against `ldn-bot serve`): the privacy text says it, and "Delete this conversation" removes
it and starts afresh."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from browser_page import BOT, SIGNED_SESSION, ask, wait_text

from ldn_bot.ledger.store import sender_hash
from ldn_bot.settings import Settings

pytestmark = pytest.mark.model


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
    ask(page, "what is naltrexone approved for?")
    wait_text(page, "alcohol dependence")
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
    ask(page, "what is naltrexone approved for?")
    wait_text(page, "alcohol dependence")
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
