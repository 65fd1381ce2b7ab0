"""The article rules (data/rules_articles.yml) are what topics.yml generates (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ldn_bot.knowledge.base import TOPICS_FILE, load_topics
from ldn_bot.knowledge.generate_rules import (
    COMMAND,
    RULES_FILE,
    article_rules,
    generated_rules,
    main,
)
from ldn_bot.routing import ARTICLE_ACTION


def test_committed_article_rules_are_what_topics_yml_generates() -> None:
    assert RULES_FILE.read_text(encoding="utf-8") == generated_rules(), (
        f"{RULES_FILE.name} differs from topics.yml: run `{COMMAND}` and commit the result"
    )


def test_the_generated_file_says_it_is_generated_and_by_what() -> None:
    head = RULES_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert head.startswith("# GENERATED FILE") and COMMAND in head


def test_each_topic_intent_gets_one_rule_to_the_article_action() -> None:
    rules = yaml.safe_load(generated_rules())["rules"]
    assert [rule["steps"] for rule in rules] == [
        [{"intent": topic.intent}, {"action": ARTICLE_ACTION}] for topic in load_topics()
    ]


@pytest.mark.parametrize("intents", [["ask_ms", "ask_ms"], ["ask ms"], ["ask_ms\n- action: x"]])
def test_a_duplicate_or_malformed_intent_is_refused(intents: list[str]) -> None:
    with pytest.raises(ValueError):
        article_rules(intents)


def test_check_fails_on_a_stale_file_and_writing_fixes_it(tmp_path: Path) -> None:
    out = tmp_path / "rules_articles.yml"
    out.write_text(generated_rules().replace("ask_vivitrol", "ask_gone"), encoding="utf-8")
    args = ["--topics", str(TOPICS_FILE), "--out", str(out)]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    assert out.read_text(encoding="utf-8") == generated_rules()
