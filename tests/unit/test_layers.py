"""The test folders are the layers (README, *Tests*): unit, integration and e2e. Every test
module sits in one of them, under a name no other layer uses (the modules are imported by
their plain names)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LAYERS = {"unit", "integration", "e2e"}


def test_every_test_module_is_in_a_layer_folder() -> None:
    modules = list(TESTS.rglob("test_*.py"))
    stray = sorted(str(p.relative_to(TESTS)) for p in modules if p.parent.name not in LAYERS)
    assert stray == [], f"move {stray} to tests/unit, tests/integration or tests/e2e"
    assert {p.parent.parent for p in modules} == {TESTS}


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
