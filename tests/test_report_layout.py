"""The report with little data and on a phone (issue 14): one day of data is a table and a
chart of totals, and a 390 px screen stays readable (the CSS, and headless Chromium with
every non-file request blocked). Each test reads a real SQLite ledger seeded through
`Ledger` (tests/review_ledger.py)."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from review_ledger import ROOT
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import collect, render_html

CHROMIUM = Path("/usr/bin/chromium")


def test_one_day_of_data_is_a_table_and_a_chart_of_totals_not_one_giant_bar(
    review_engine: Engine,
) -> None:
    data = collect(review_engine)
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


def test_report_at_390_px_in_headless_chromium(review_engine: Engine, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render_html(collect(review_engine)), encoding="utf-8")
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
