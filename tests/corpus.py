"""The test corpus: every text the tests and evaluation sets hold, for checks that must
agree on all of them (the analysis cache, unit samples and the whole corpus)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEV_FILE = ROOT.parent / "shared" / "data" / "medication-questions-dev.jsonl"


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def corpus_texts() -> list[str]:
    """Every string of tests/data/*.yml, the load questions and the dev file (when present)."""
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("*.yml")):
        texts += _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    load = (ROOT / "tests" / "data" / "load_questions.txt").read_text(encoding="utf-8")
    texts += [line for line in load.splitlines() if line and not line.startswith("#")]
    if DEV_FILE.exists():
        for line in DEV_FILE.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return list(dict.fromkeys(t for t in texts if t))
