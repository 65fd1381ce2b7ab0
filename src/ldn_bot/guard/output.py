"""The output guard: no reply may carry a dose, a schedule or a splitting instruction."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

LEAKS_FILE = Path(__file__).parent / "rules" / "leaks.yml"
CHECK_FAILED = "check_failed"


@dataclass(frozen=True)
class Leak:
    """A pattern from `leaks.yml` that matched a reply."""

    rule: str


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    raw = yaml.safe_load(LEAKS_FILE.read_text(encoding="utf-8"))
    return tuple((leak["id"], re.compile(leak["pattern"], re.IGNORECASE)) for leak in raw["leaks"])


def find_leak(text: str | None) -> Leak | None:
    """The first leak pattern that matches `text`; a failed check counts as a leak."""
    if not text:
        return None
    try:
        for rule, pattern in _patterns():
            if pattern.search(text):
                return Leak(rule)
    except Exception:
        logger.exception("output guard failed; failing closed")
        return Leak(CHECK_FAILED)
    return None
