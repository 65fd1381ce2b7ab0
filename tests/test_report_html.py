"""The ledger report's HTML: no external references (checked by a parser that finds every
way a page could load something), text from the database escaped, and the page in
headless Chromium with every non-file request blocked. Tests taking `report_engine` read
a real SQLite file populated as tests/report_ledger.py describes."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_ledger import EVIL, TABLE_CAPTIONS
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import (
    Question,
    ReportData,
    collect,
    render_html,
)

ROOT = Path(__file__).resolve().parents[1]
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


class _References(HTMLParser):
    """Every way a parsed page could load something: tags that fetch, attributes holding a
    URL, and `url(...)`/`@import` in style sheets and style attributes."""

    FETCHING_TAGS = frozenset({"script", "link", "iframe", "img", "object", "embed", "base"})
    URL_ATTRIBUTES = frozenset({"src", "srcset", "href", "xlink:href", "action", "poster"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        if tag in self.FETCHING_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and not (value or "").startswith("#"):
                self.found.append(f"{name}={value}")
            if name == "style":
                self._css(value or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        self.found += re.findall(r"""url\(\s*(?!["']?#)[^)]*\)|@import""", css)


def _outside_references(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser.found + re.findall(r"(?i)https?://\S*", page)


def test_the_reference_check_finds_leaks() -> None:
    page = (
        '<link rel="stylesheet" href="x.css"><style>@import "a.css"; b { background: url(c.png) }'
        '</style><svg><use xlink:href="#ok"/><image href="d.png"/></svg><p style="e: url(f)">'
        "https://g.example</p>"
    )
    assert len(_outside_references(page)) == 7


def test_html_has_no_external_references(report_engine: Engine) -> None:
    page = render_html(collect(report_engine))

    assert page.startswith("<!DOCTYPE html>")
    assert _outside_references(page) == []
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "<metadata" not in page
    assert page.count("<svg") == 5 and page.count('role="img"') == 5
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids must be unique across the inline SVGs"
    assert "http://www.w3.org" not in page  # not even the SVG namespaces


def test_html_escapes_text_from_the_database(report_engine: Engine) -> None:
    page = render_html(collect(report_engine), title="<b>report</b>")

    assert EVIL not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>&lt;b&gt;report&lt;/b&gt;</title>" in page


def test_a_url_someone_typed_stays_text() -> None:
    typed = 'see https://evil.example/x.js "<img src=x onerror=alert(1)>"'
    data = ReportData(
        turns=1,
        conversations=1,
        routes=(("fallback", 1),),
        questions=(Question(typed, 1, "fallback"),),
        unanswered=1,
    )

    page = render_html(data)

    assert _outside_references(page) == []
    assert "<img" not in page
    assert "see https&#58;//evil.example/x.js &quot;&lt;img src=x" in page


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
