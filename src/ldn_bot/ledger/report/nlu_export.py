"""The unanswered questions as candidate NLU examples, in Rasa 3 YAML, for a person to
label: `ldn-bot report --export-nlu FILE`. Nothing is added to `data/`: the file is a
worklist, and an example becomes training data only when someone moves it there."""

from __future__ import annotations

import yaml

from ldn_bot.ledger.report.model import Group, Question, ReportData

PLACEHOLDER = {
    Group.NOT_COVERED: "label_me_about_ldn_or_ms",
    Group.OFF_TOPIC: "label_me_off_topic",
}
_HEADER = """\
# Candidate NLU examples: questions ldn-bot could not answer, {period}.
# Written by `ldn-bot report --export-nlu`. This is NOT training data: `ldn-bot train`
# reads data/ only, and nothing here is copied there.
# To use an example: give it an intent (an existing one, `not_covered` or `out_of_scope`),
# move it into data/nlu.yml by hand, and retrain. Delete the ones that teach nothing.
# A dose, splitting or personal question belongs to the guard, never to an article intent.
# The texts are what people typed: take out anything personal before committing any.
# Failures (fail closed, NLU errors, the action server down) are left out: not language.
"""


def nlu_yaml(data: ReportData) -> str:
    """The unanswered questions (about LDN or MS first, then off-topic) as Rasa 3.1 NLU
    YAML, each example under a placeholder intent with a comment saying how often it was
    seen and which route it got."""
    lines = [_HEADER.format(period=data.period_text()), 'version: "3.1"']
    groups = [(group, data.group(group)) for group in PLACEHOLDER]
    groups = [(group, questions) for group, questions in groups if questions]
    if not groups:
        lines.append("nlu: []")
    else:
        lines.append("nlu:")
    for group, questions in groups:
        lines += [
            f"# --- {group.heading}: {len(questions)} question(s) ---",
            f"- intent: {PLACEHOLDER[group]}  # a placeholder: not an intent of the domain",
            "  examples:",
        ]
        for question in questions:
            lines.append(f"  # intent: ?  {_seen(question)}")
            lines.append(f"  - text: {_scalar(question.text)}")
    return "\n".join(lines) + "\n"


def _seen(question: Question) -> str:
    times = "once" if question.count == 1 else f"{question.count} times"
    return f"seen {times}, route {question.route}"


def _scalar(text: str) -> str:
    """The text as one double-quoted YAML scalar on one line (any character escaped)."""
    storable = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    dumped = yaml.safe_dump(
        storable, default_style='"', allow_unicode=True, width=1_000_000, explicit_end=False
    )
    return dumped.strip().removesuffix("...").strip()
