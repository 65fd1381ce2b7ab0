"""What the guard decides about a message: a value, not a reply."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Category(str, Enum):
    """Guard categories, strongest first (the order decides ties)."""

    EMERGENCY = "emergency"
    PILL_SPLITTING = "pill_splitting"
    DOSING = "dosing"
    PERSONAL_ADVICE = "personal_advice"
    NONE = "none"

    @property
    def refers_to_doctor(self) -> bool:
        """True for the categories answered with the doctor referral."""
        return self in (Category.PILL_SPLITTING, Category.DOSING)


PRIORITY = (
    Category.EMERGENCY,
    Category.PILL_SPLITTING,
    Category.DOSING,
    Category.PERSONAL_ADVICE,
)


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on one message.

    Attributes:
        category: the strongest category that fired (`NONE` when nothing did).
        rule: id of the rule that decided it (e.g. `dosing.how_much`), or
            `error` when the detector failed and the verdict fails closed.
        rules: every rule that fired, for the log and the ledger.
        cleared: for a verdict of none, the referral rules whose words matched but
            that were set aside because the message asks about something else (how
            the product looks, what it contains, how to store it, how fast it works).
    """

    category: Category
    rule: str | None = None
    rules: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        """True when the message must not be answered from the article."""
        return self.category is not Category.NONE

    @classmethod
    def fail_closed(cls, reason: str = "error") -> Verdict:
        """The verdict used when detection itself fails: refer to the doctor."""
        return cls(Category.DOSING, rule=reason, rules=(reason,))

    def as_dict(self) -> dict[str, object]:
        """The verdict as plain JSON values."""
        return {"category": self.category.value, "rule": self.rule, "rules": list(self.rules)}


NO_CONCERN = Verdict(Category.NONE)
