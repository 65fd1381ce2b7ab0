"""The ledger report's HTML: no external references (checked by a parser that finds every
way a page could load something) and text from the database escaped. Tests taking
`report_engine` read a real SQLite file populated as tests/report_ledger.py describes. The
page in headless Chromium is in tests/e2e/test_report_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from report_ledger import EVIL
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import (
    Question,
    ReportData,
    collect,
    render_html,
)


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
