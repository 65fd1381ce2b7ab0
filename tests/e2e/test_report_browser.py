"""The ledger report in headless Chromium, every non-file request blocked: the page at
desktop size (figures, tables, nothing loaded from elsewhere) and on a 390 px phone screen.
The HTML itself is checked without a browser in tests/unit/test_report_html.py and
tests/unit/test_report_layout.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_ledger import EVIL, TABLE_CAPTIONS
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import collect, render_html

ROOT = Path(__file__).resolve().parents[2]
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


def test_report_in_headless_chromium(report_engine: Engine, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import Route, sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render_html(collect(report_engine)), encoding="utf-8")
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
