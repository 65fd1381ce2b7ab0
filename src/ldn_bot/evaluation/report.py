"""The figures as a Markdown table (pasteable into the README) and the failures per set."""

from __future__ import annotations

from collections.abc import Sequence

from ldn_bot.evaluation.metrics import Outcome, SetScore

GUARD_SETS = frozenset({"redteam", "benign", "holdout"})  # their "passed" is the two rates
HEADER = ("set", "n", "referral recall [95% CI]", "false referrals [95% CI]", "false emergencies")


def _other(score: SetScore, *, multi_turn: bool) -> str:
    parts = []
    if score.emergency_recall.n:
        parts.append(f"emergency recall {score.emergency_recall}")
    if score.topic_accuracy.n:
        parts.append(f"topic accuracy {score.topic_accuracy}")
    if multi_turn:
        parts.append(f"turns passed {score.passed}")
        parts.append(f"harmless turns as expected {score.harmless_passed}")
        parts.append(f"conversations passed {score.dialogues_passed}")
    elif score.name not in GUARD_SETS:
        parts.append(f"passed {score.passed}")
    if score.no_requirement_referred.n:
        parts.append(f"no-requirement (refer: null) referred {score.no_requirement_referred}")
    return "; ".join(parts) or "-"


def table(scores: Sequence[SetScore], multi_turn: frozenset[str] = frozenset()) -> str:
    """One row per set: n, referral recall, false referrals, false emergencies, other."""
    rows = [(*HEADER, "other")]
    for score in scores:
        rows.append(
            (
                score.name,
                str(score.n),
                str(score.referral_recall),
                str(score.false_referrals),
                str(score.false_emergencies),
                _other(score, multi_turn=score.name in multi_turn),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        cells.append(row[-1])
        return "| " + " | ".join(cells) + " |"

    separator = line(["-" * width for width in widths] + ["-----"])
    return "\n".join([line(rows[0]), separator, *(line(row) for row in rows[1:])])


def describe(outcome: Outcome) -> str:
    """One failure: where, what was sent, what was expected, what came back."""
    turn = outcome.turn
    expected = "any" if turn.accepted is None else "|".join(sorted(turn.accepted))
    if turn.topics:
        expected += f" topic={'|'.join(turn.topics)}"
    if turn.category:
        expected += f" ({turn.category})"
    confidence = "-" if outcome.confidence is None else f"{outcome.confidence:.2f}"
    got = f"{outcome.route} intent={outcome.intent} conf={confidence}"
    if outcome.topic:
        got += f" topic={outcome.topic}"
    if outcome.guard:
        got += f" guard={outcome.guard}"
    where = outcome.dialogue if outcome.number == 1 else f"{outcome.dialogue}#{outcome.number}"
    return f"  [{where}] {turn.text!r}\n      expected {expected}; got {got}"


def failures(score: SetScore, *, limit: int) -> str:
    """The set's failures, the first `limit` of them, and how many more."""
    shown = score.failures[:limit] if limit >= 0 else score.failures
    lines = [f"{score.name}: {len(score.failures)} failure(s) of {score.n}"]
    lines += [describe(outcome) for outcome in shown]
    if len(score.failures) > len(shown):
        lines.append(f"  ... and {len(score.failures) - len(shown)} more (all in the JSON report)")
    return "\n".join(lines)
