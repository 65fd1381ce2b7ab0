"""`ldn-bot report --export-nlu` (issue 14): the unanswered questions written as candidate
NLU examples for a person to label, as valid Rasa YAML that escapes what people typed.
Each test reads a real SQLite ledger seeded through `Ledger` (tests/review_ledger.py); the
command line is in tests/integration/test_report_command.py."""

from __future__ import annotations

from pathlib import Path

import yaml
from review_ledger import seed
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import Group, ReportData, collect
from ldn_bot.ledger.report.nlu_export import PLACEHOLDER, nlu_yaml


def test_export_nlu_is_rasa_yaml_for_a_person_to_label(review_engine: Engine) -> None:
    exported = nlu_yaml(collect(review_engine))
    loaded = yaml.safe_load(exported)

    assert loaded["version"] == "3.1"
    assert [entry["intent"] for entry in loaded["nlu"]] == list(PLACEHOLDER.values())
    texts = [[example["text"] for example in entry["examples"]] for entry in loaded["nlu"]]
    assert texts == [
        ["is ldn vegan friendly", "Would it calm my psoriasis?"],
        ["best pizza dough recipe?", "Hjälper LDN mot trötthet?"],
    ]
    assert '  # intent: ?  seen 2 times, route fallback\n  - text: "is ldn vegan friendly"' in (
        exported
    )
    assert "# intent: ?  seen once, route language" in exported
    assert "are you there" not in exported  # failures are not language to learn
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    training = RasaYAMLReader().reads(exported)
    assert sorted(example.get("text") for example in training.intent_examples) == sorted(
        text for group in texts for text in group
    )


def test_export_nlu_of_nothing_is_still_valid(tmp_path: Path) -> None:
    engine = seed(tmp_path / "empty.db", rows=[])
    try:
        exported = nlu_yaml(collect(engine))
    finally:
        engine.dispose()
    assert yaml.safe_load(exported) == {"version": "3.1", "nlu": []}


def test_export_nlu_escapes_what_people_typed() -> None:
    from ldn_bot.ledger.report import Question

    odd = ["a: b # not a comment", '- "quoted" \\ and \x07', "line\nbreak", "émoji 😀", "? key"]
    data = ReportData(
        questions=tuple(Question(text, 1, "fallback", Group.OFF_TOPIC) for text in odd)
    )
    loaded = yaml.safe_load(nlu_yaml(data))
    assert [example["text"] for example in loaded["nlu"][0]["examples"]] == odd
