"""The reply time in the widget next to REST's for the same questions: the figure for
README (reports/browser/reply_time.json). Headless Chromium driven by Playwright, against
`ldn-bot serve`."""

from __future__ import annotations

import json
import statistics
import time
import urllib.request

import pytest
from browser_page import BOT

from ldn_bot.settings import Settings

pytestmark = pytest.mark.model


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
