"""The deterministic guard: normalise, match the rules, return a verdict.

Rules live in `rules/guard.yml` (see its header for the rule grammar); this
module only compiles and applies them. Any failure inside `detect()` returns
`Verdict.fail_closed()`: the person is referred to their doctor.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from ldn_bot.analysis import Analysis, Reading, analyse, analyse_with
from ldn_bot.guard.rules_yaml import RULES_DIR, load_rules_yaml
from ldn_bot.guard.verdict import NO_CONCERN, PRIORITY, Category, Verdict
from ldn_bot.nlp import pipeline

logger = logging.getLogger(__name__)

RULES_FILE = RULES_DIR / "guard.yml"
FOLLOWUP = "followup"
# Rules of this category fire only right after the emergency message: a plea or a
# "what do i do" is part of the same emergency.
EMERGENCY_FOLLOWUP = "emergency_followup"
CLEARED_ABOUT = "clearing_about"  # `Verdict.cleared` when only `clearing_about` cleared it
MAX_CHARS = 20_000  # longer input is checked in overlapping windows
# Once one of these fired, a second reading cannot make the reply any safer.
_REFERRED = frozenset(
    c.value for c in (Category.EMERGENCY, Category.PILL_SPLITTING, Category.DOSING)
)


@dataclass(frozen=True)
class Rule:
    """One compiled rule; see the header of `guard.yml`."""

    id: str
    category: str
    unless_within: tuple[str, ...] = ()
    unless_after_window: int = 0
    unless_after: frozenset[str] = frozenset()
    unless_any: frozenset[str] = frozenset()
    about_lemmas: frozenset[str] = frozenset()
    about_spans: tuple[str, ...] = ()
    about_but_not: frozenset[str] = frozenset()
    requires_any: frozenset[str] = frozenset()
    max_tokens: int | None = None
    all_of: tuple[frozenset[str], ...] = ()
    patterns: list = field(default_factory=list, compare=False, hash=False)


def _words(values: Iterable[object]) -> frozenset[str]:
    return frozenset(str(value) for value in values)


def _as_strings(pattern: Any) -> Any:
    """YAML reads `[2, 3]` as numbers; Matcher `IN` lists want strings."""
    if isinstance(pattern, dict):
        return {
            key: [str(v) for v in value] if key in ("IN", "NOT_IN") else _as_strings(value)
            for key, value in pattern.items()
        }
    if isinstance(pattern, list):
        return [_as_strings(item) for item in pattern]
    return pattern


def _rule(raw: dict) -> Rule:
    after = raw.get("unless_after", {})
    about = raw.get("unless_about", {})
    return Rule(
        id=raw["id"],
        category=raw["category"],
        unless_within=tuple(raw.get("unless_within", ())),
        unless_after_window=int(after.get("window", 0)),
        unless_after=_words(after.get("lemmas", ())),
        unless_any=_words(raw.get("unless_any", ())),
        about_lemmas=_words(about.get("lemmas", ())),
        about_spans=tuple(about.get("spans", ())),
        about_but_not=_words(about.get("but_not", ())),
        requires_any=_words(raw.get("requires_any", ())),
        max_tokens=raw.get("max_tokens"),
        all_of=tuple(_words(words) for words in raw.get("all_of", ())),
        patterns=_as_strings(raw.get("patterns", [])),
    )


_WORD_ATTRS = ("LOWER", "LEMMA", "ORTH", "NORM", "TEXT")


def _required_words(pattern: list[dict[str, Any]]) -> tuple[frozenset[str], ...]:
    """For each mandatory token of `pattern` that tests plain words, the words it accepts:
    a text can match the pattern only if it contains one word of every such set."""
    required = []
    for token in pattern:
        if token.get("OP", "1") not in ("1", "+"):
            continue
        for attr in _WORD_ATTRS:
            value = token.get(attr)
            if isinstance(value, str):
                required.append(frozenset({value.lower()}))
            elif isinstance(value, dict) and set(value) == {"IN"}:
                required.append(frozenset(str(word).lower() for word in value["IN"]))
    return tuple(required)


@dataclass(frozen=True)
class _Compiled:
    """A rule's patterns in a matcher of their own, with the word lists each pattern needs
    (as ids into the detector's table of distinct word lists)."""

    rule: Rule
    matcher: Matcher
    requirements: tuple[frozenset[int], ...]

    def may_match(self, present: set[int]) -> bool:
        return any(needed <= present for needed in self.requirements)


class GuardDetector:
    """Classifies a message as dosing, pill splitting, emergency, personal advice or none.

    Each rule has its own matcher and runs only when the text contains, for one of its
    patterns, a word of every word list the pattern requires (spaCy's Matcher tests word
    lists in Python, token by token; most messages can trigger only a few rules).

    `analyser` reads a message (`ldn_bot.analysis`); the default detector uses the shared,
    cached `analyse`, so the NLU's features, the scope check, answering and every `detect`
    call on the same text share one parse. Without it, each call parses with `nlp`.
    """

    def __init__(
        self,
        nlp: Language,
        rules_file: Path = RULES_FILE,
        *,
        analyser: Callable[[str], Analysis] | None = None,
    ) -> None:
        raw = load_rules_yaml(rules_file)
        self.nlp = nlp
        self.analyse: Callable[[str], Analysis] = analyser or (lambda text: analyse_with(nlp, text))
        self.rules = {rule.id: rule for rule in map(_rule, raw["rules"])}
        self._compiled: list[_Compiled] = []
        lists: dict[frozenset[str], int] = {}  # each distinct word list, numbered
        for rule in self.rules.values():
            if not rule.patterns:
                continue
            matcher = Matcher(nlp.vocab, validate=True)
            matcher.add(rule.id, rule.patterns)
            requirements = tuple(
                frozenset(lists.setdefault(words, len(lists)) for words in _required_words(p))
                for p in rule.patterns
            )
            self._compiled.append(_Compiled(rule, matcher, requirements))
        self._lists_of_word: dict[str, list[int]] = {}
        for words, number in lists.items():
            for word in words:
                self._lists_of_word.setdefault(word, []).append(number)
        self._cooccurrence_rules = [rule for rule in self.rules.values() if rule.all_of]
        self._clearing_spans = frozenset(raw.get("clearing_spans", ()))
        about = raw.get("clearing_about", {})
        self._clearing_about = (_words(about.get("lemmas", ())), _words(about.get("but_not", ())))
        self._span_matcher = Matcher(nlp.vocab, validate=True)
        for name, patterns in raw["spans"].items():
            self._span_matcher.add(name, _as_strings(patterns))
        # The rules that fire on a reading do not depend on the context: a message read
        # again (another context, the action server's second key, a window of recent turns)
        # is matched once, while its analysis is cached.
        self._fired_on: weakref.WeakKeyDictionary[Reading, tuple[tuple[str, ...], ...]] = (
            weakref.WeakKeyDictionary()
        )

    def detect(self, text: str, *, context: Category | None = None) -> Verdict:
        """Return the verdict for `text`; fails closed on any internal error.

        Args:
            text: the raw user message.
            context: the category of the previous turn's verdict, so that an
                elliptical follow-up to a dosing question ("and at night?")
                is treated as dosing too.
        """
        try:
            return self._detect(text, context)
        except Exception:
            logger.exception("guard detector failed; failing closed")
            return Verdict.fail_closed()

    def _detect(self, text: str, context: Category | None) -> Verdict:
        if len(text) > MAX_CHARS:
            verdicts = [
                self._detect(text[start : start + MAX_CHARS], context)
                for start in range(0, len(text), MAX_CHARS // 2)
            ]
            return min(verdicts, key=_rank)
        analysis = self.analyse(text)
        fired, cleared = self._fired(analysis.normal)
        if not self._referred(fired):
            # Symbols between words split the patterns' word sequences ("how :much 🗺ldn"):
            # read the words without them too.
            bare = analysis.bare
            if bare is not None:
                more, more_cleared = self._fired(bare)
                fired += [r for r in more if r not in fired]
                cleared += [c for c in more_cleared if c not in cleared]
        if context is Category.EMERGENCY:
            pleas = [r for r in fired if self.rules[r].category == EMERGENCY_FOLLOWUP]
            if pleas:
                return Verdict(Category.EMERGENCY, rule=pleas[0], rules=tuple(fired))
        for category in PRIORITY:
            for rule_id in fired:
                if self.rules[rule_id].category == category.value:
                    return Verdict(category, rule=rule_id, rules=tuple(fired))
        if context is not None and context.refers_to_doctor:
            followups = [r for r in fired if self.rules[r].category == FOLLOWUP]
            if followups:
                return Verdict(context, rule=followups[0], rules=tuple(fired))
        if not cleared and self._about_product(analysis.normal):
            cleared = [CLEARED_ABOUT]
        if cleared:
            return Verdict(Category.NONE, rules=tuple(fired), cleared=tuple(cleared))
        return Verdict(Category.NONE, rules=tuple(fired)) if fired else NO_CONCERN

    def _about_product(self, normal: Reading) -> bool:
        """`clearing_about`: the message names how the product looks, what it contains,
        how to store it or what it costs, and no word of a dose question."""
        about, but_not = self._clearing_about
        if not about:
            return False
        return bool(about & normal.lemmas) and not (but_not & normal.lemmas)

    def _referred(self, fired: list[str]) -> bool:
        return any(self.rules[rule].category in _REFERRED for rule in fired)

    def _fired(self, reading: Reading) -> tuple[list[str], list[str]]:
        """`_fired_rules(reading)`, remembered while the reading is."""
        found = self._fired_on.get(reading)
        if found is None:
            fired, cleared = self._fired_rules(reading)
            found = (tuple(fired), tuple(cleared))
            self._fired_on[reading] = found
        return list(found[0]), list(found[1])

    def _fired_rules(self, reading: Reading) -> tuple[list[str], list[str]]:
        """The rules that fired, and the referral rules that matched but were set aside
        because the message asks about something else (`unless_about`, a clearing span)."""
        doc, lemmas, words = reading.doc, reading.lemmas, reading.words
        spans: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in self._span_matcher(doc):
            spans.setdefault(self.nlp.vocab.strings[match_id], []).append((start, end))
        present = {n for word in words for n in self._lists_of_word.get(word, ())}
        matches = [
            (start, end, order, compiled.rule)
            for order, compiled in enumerate(self._compiled)
            if compiled.may_match(present)
            for _match_id, start, end in compiled.matcher(doc)
        ]
        fired: list[str] = []
        cleared: list[str] = []
        for start, end, _order, rule in sorted(matches, key=lambda m: (m[1], m[0], m[2])):
            if rule.id in fired:
                continue
            if self._holds(rule, doc, start, end, lemmas, spans):
                fired.append(rule.id)
            elif rule.id not in cleared and self._cleared(rule, start, end, lemmas, spans):
                cleared.append(rule.id)
        for rule in self._cooccurrence_rules:
            if all(words & lemmas for words in rule.all_of) and self._holds(
                rule, doc, 0, len(doc), lemmas, spans
            ):
                fired.append(rule.id)
        return fired, [rule for rule in cleared if rule not in fired]

    def _cleared(
        self,
        rule: Rule,
        start: int,
        end: int,
        lemmas: frozenset[str],
        spans: dict[str, list[tuple[int, int]]],
    ) -> bool:
        """Whether a referral rule that matched was set aside because the message asks
        about something else: what the product looks like, contains, is for, how to store
        it, how fast it works, how one feels on it."""
        if rule.category not in _REFERRED:
            return False
        if _about_something_else(rule, lemmas, spans):
            return True
        return any(
            s <= start < e or s < end <= e
            for name in rule.unless_within
            if name in self._clearing_spans
            for s, e in spans.get(name, ())
        )

    @staticmethod
    def _holds(
        rule: Rule,
        doc: Doc,
        start: int,
        end: int,
        lemmas: frozenset[str],
        spans: dict[str, list[tuple[int, int]]],
    ) -> bool:
        if rule.max_tokens is not None and len(doc) > rule.max_tokens:
            return False
        if rule.requires_any and not (rule.requires_any & lemmas):
            return False
        if rule.unless_any & lemmas:
            return False
        if _about_something_else(rule, lemmas, spans):
            return False
        for name in rule.unless_within:
            if any(s <= start < e or s < end <= e for s, e in spans.get(name, ())):
                return False
        if rule.unless_after:
            following = doc[end : end + rule.unless_after_window]
            if any(
                t.lemma_ in rule.unless_after or t.lower_ in rule.unless_after for t in following
            ):
                return False
        return True


def _about_something_else(
    rule: Rule, lemmas: frozenset[str], spans: dict[str, list[tuple[int, int]]]
) -> bool:
    """`unless_about`: the message asks about something else (what the product looks
    like, contains, is for, how to store it) and has no word of a dose question."""
    if not (rule.about_lemmas or rule.about_spans) or rule.about_but_not & lemmas:
        return False
    return bool(rule.about_lemmas & lemmas) or any(name in spans for name in rule.about_spans)


def _rank(verdict: Verdict) -> int:
    order = (*PRIORITY, Category.NONE)
    return order.index(verdict.category)


@lru_cache(maxsize=1)
def default_detector() -> GuardDetector:
    """The detector on the shared pipeline, built once per process."""
    return GuardDetector(pipeline(), analyser=analyse)


def detect(text: str, *, context: Category | None = None) -> Verdict:
    """Module-level convenience: `default_detector().detect(...)`, failing closed."""
    try:
        detector = default_detector()
    except Exception:
        logger.exception("guard detector could not be built; failing closed")
        return Verdict.fail_closed("detector_unavailable")
    return detector.detect(text, context=context)
