"""The report with little data and on a phone (issue 14): one day of data is a table and a
chart of totals, and the CSS keeps a 390 px screen readable. Each test reads a real SQLite
ledger seeded through `Ledger` (tests/review_ledger.py). The 390 px page in headless
Chromium is in tests/e2e/test_report_browser.py."""

from __future__ import annotations

import re
from importlib.resources import files

from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import collect, render_html


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
