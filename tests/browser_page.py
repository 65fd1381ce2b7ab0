"""How the browser tests (tests/e2e/test_browser_*.py) drive the web chat: Debian's Chromium
and its options, the widget's selectors, and asking and waiting in a page."""

from __future__ import annotations

import re
from pathlib import Path

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


def bot_count(page: object) -> int:
    """How many bot bubbles the page shows."""
    return page.locator(BOT).count()  # type: ignore[attr-defined]


def ask(page: object, text: str) -> None:
    """Type `text` and press Enter, then wait for the first bubble of the reply."""
    before = bot_count(page)
    page.locator(".rw-new-message").fill(text)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelectorAll('{BOT}').length > {before}", timeout=30_000
    )


# Predicates are arrow functions, not bare expressions: Playwright evaluates a bare
# expression with eval(), which the page's Content-Security-Policy (no 'unsafe-eval') refuses.


def wait_text(page: object, needle: str, count: int = 1) -> None:
    """Wait until `count` bot bubbles contain `needle` (the widget shows them one by one)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => Array.from(document.querySelectorAll('{BOT}'))"
        f".filter(m => m.innerText.includes({needle!r})).length >= {count}",
        timeout=30_000,
    )
