"""The article rules, generated from `topics.yml`: `python -m ldn_bot.knowledge.generate_rules`.

Every article topic's intent is answered by `action_answer_article`. Those rules
are written to `data/rules_articles.yml`, a committed file, so that a plain
`rasa train` still finds them; a topic's intent is then typed in `topics.yml`,
`domain.yml` and `data/nlu.yml` only. `tests/unit/test_generated_rules.py` fails while
the committed file differs from what this module writes.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ldn_bot.knowledge.base import TOPICS_FILE, load_topics
from ldn_bot.routing import ARTICLE_ACTION
from ldn_bot.settings import PROJECT_ROOT

COMMAND = "python -m ldn_bot.knowledge.generate_rules"
RULES_FILE = PROJECT_ROOT / "data" / "rules_articles.yml"
_INTENT_NAME = re.compile(r"[a-z][a-z0-9_]*")

_HEADER = f"""\
# GENERATED FILE, do not edit: `{COMMAND}` writes it from
# src/ldn_bot/knowledge/topics.yml (one rule per article topic: its intent is answered by
# {ARTICLE_ACTION}). Change the topics there, then run the command again; a test fails
# while this file differs from what the command writes. The other rules are in rules.yml.
"""


def article_rules(intents: Sequence[str]) -> str:
    """The text of the rules file: one rule per topic intent, in the order given."""
    for intent in intents:
        if not _INTENT_NAME.fullmatch(intent):
            raise ValueError(f"not an intent name: {intent!r} (lower case, digits and _)")
    if len(set(intents)) != len(intents):
        raise ValueError("two topics share an intent: give each topic its own in topics.yml")
    rules = [
        {
            "rule": f"{intent} -> article answer",
            "steps": [{"intent": intent}, {"action": ARTICLE_ACTION}],
        }
        for intent in intents
    ]
    body = yaml.safe_dump(
        {"version": "3.1", "rules": rules}, sort_keys=False, default_flow_style=False
    )
    return _HEADER + "\n" + body


def generated_rules(topics_path: Path = TOPICS_FILE) -> str:
    """The rules file for the topics of `topics_path`."""
    return article_rules([topic.intent for topic in load_topics(topics_path)])


def main(argv: Sequence[str] | None = None) -> int:
    """Write the article rules (or, with `--check`, say whether the file is up to date)."""
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Write data/rules_articles.yml from topics.yml."
    )
    parser.add_argument("--topics", type=Path, default=TOPICS_FILE, help="the topics file")
    parser.add_argument("--out", type=Path, default=RULES_FILE, help="the rules file to write")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file is out of date"
    )
    args = parser.parse_args(argv)
    text = generated_rules(args.topics)
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
    if args.check:
        if current != text:
            print(f"{args.out} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(f"{args.out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
