"""The chat page's scripts (web/static): one concept a file, loaded in order, and the
rules they keep (no HTML parsing of text, no request to another host). No model, no browser:
tests/e2e/test_browser_*.py run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rasa_project.web.pages import _static_file

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
SCRIPTS = [STATIC / "app.js", *sorted((STATIC / "js").glob("*.js"))]


def _loaded() -> list[str]:
    """The page's own scripts in the order index.html loads them (paths under web/static)."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    return re.findall(r'<script src="static/([^"]+)"></script>', page)


def test_the_page_loads_every_script_once_the_namespace_first_the_wiring_last() -> None:
    loaded = _loaded()
    assert loaded[0] == "vendor/webchat.js"
    ours = loaded[1:]
    assert ours[0] == "js/ldn.js" and ours[-1] == "app.js", ours
    assert sorted(ours) == sorted(str(p.relative_to(STATIC)) for p in SCRIPTS)


@pytest.mark.parametrize("path", [str(p.relative_to(STATIC)) for p in SCRIPTS])
def test_the_static_route_finds_each_script(path: str) -> None:
    assert _static_file(STATIC, path) == (STATIC / path).resolve()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_script_keeps_the_pages_rules(script: Path) -> None:
    code = script.read_text(encoding="utf-8")
    assert len(code.splitlines()) <= 400
    for sink in (".innerHTML", ".outerHTML", ".insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
    # Requests go to the page's origin only (the URLs /config.js gives, or their defaults).
    assert set(re.findall(r"fetch\(([^,)]*)", code)) <= {"FEEDBACK_URL", "FORGET_URL"}
    assert "XMLHttpRequest" not in code and "sendBeacon" not in code
