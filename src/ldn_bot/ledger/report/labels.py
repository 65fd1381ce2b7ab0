"""Plain-language labels for the ids the ledger records (`labels.yml`), and why a turn
went unanswered: a question about LDN or MS the article does not cover, an off-topic one,
or a failure of the bot (never a fallback)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import yaml

from ldn_bot.ledger.report.model import (
    FAIL_CLOSED,
    NLU_FAILED,
    NO_ACTION_REPLY,
    UNANSWERED,
    Group,
)
from ldn_bot.routing import Route

STEM_LETTERS = 7  # as `ldn_bot.knowledge.scope`: two forms of one word share these
_TOKEN = re.compile(r"[a-z][a-z'-]+")

FAILURE_LABELS = {
    FAIL_CLOSED: "the guard failed and referred to the doctor (fail closed)",
    NLU_FAILED: 'the language understanding failed ("I can\'t answer that right now")',
    NO_ACTION_REPLY: "the action server did not answer: down, timed out or failed "
    '("I can\'t answer that right now")',
}


@dataclass(frozen=True)
class Labels:
    """The report's vocabulary: rule and source labels, and what counts as a failure."""

    rules: dict[str, str]
    sources: dict[str, str]
    failure_rules: frozenset[str]
    failure_intents: frozenset[str]
    fallback_intents: frozenset[str]
    failure_responses: frozenset[str]
    not_covered_intents: frozenset[str]

    def rule(self, rule: str | None) -> str | None:
        """Rule "dosing.how_much" -> "asks how much to take"; an unknown id stays as it is."""
        if not rule:
            return None
        return self.rules.get(rule, rule)

    def source(self, source: str | None) -> str | None:
        """A guard source in plain language; an unknown one stays as it is."""
        return self.sources.get(source, source) if source else None

    def failure(
        self, route: str, intent: str | None, rule: str | None, responses: str | None = None
    ) -> str | None:
        """The kind of failure of a turn, or None when the bot did what it meant to.

        `responses` are the turn's response names as the ledger keeps them (comma-separated;
        None for a turn recorded before they were kept: then a fallback turn whose intent
        has a reply of its own is read as one whose reply did not come)."""
        if rule in self.failure_rules:
            return FAIL_CLOSED
        if intent in self.failure_intents:
            return NLU_FAILED
        if responses is not None:
            if self.failure_responses.intersection(responses.split(",")):
                return NO_ACTION_REPLY
            return None
        if route == Route.FALLBACK.value and intent and intent not in self.fallback_intents:
            return NO_ACTION_REPLY  # its own reply did not come: "I can't answer now"
        return None

    def group(
        self,
        route: str,
        intent: str | None,
        rule: str | None,
        text: str,
        responses: str | None = None,
    ) -> Group | None:
        """Why a turn went unanswered, or None when it was answered."""
        if self.failure(route, intent, rule, responses):
            return Group.FAILURE
        if route not in UNANSWERED:
            return None
        if intent in self.not_covered_intents:
            return Group.NOT_COVERED
        if route != Route.LANGUAGE.value and about_ldn_or_ms(text):
            return Group.NOT_COVERED
        return Group.OFF_TOPIC


@lru_cache(maxsize=1)
def labels() -> Labels:
    """The report's vocabulary from `labels.yml`, read once."""
    raw = yaml.safe_load((files("ldn_bot.ledger.report") / "labels.yml").read_text("utf-8"))
    return Labels(
        rules={str(k): str(v) for k, v in raw["rules"].items()},
        sources={str(k): str(v) for k, v in raw["sources"].items()},
        failure_rules=frozenset(map(str, raw["failure_rules"])),
        failure_intents=frozenset(map(str, raw["failure_intents"])),
        fallback_intents=frozenset(map(str, raw["fallback_intents"])),
        failure_responses=frozenset(map(str, raw["failure_responses"])),
        not_covered_intents=frozenset(map(str, raw["not_covered_intents"])),
    )


@dataclass(frozen=True)
class _Vocabulary:
    domain: frozenset[str]
    stems: frozenset[str]
    not_covered: frozenset[str]
    ignored: frozenset[str]


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    """The domain and not-covered terms of `ldn_bot/knowledge/scope.yml` (without the
    article's own words, which need the language model: the report runs without it)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    raw = yaml.safe_load((files("ldn_bot.knowledge") / "scope.yml").read_text("utf-8"))
    not_covered = frozenset(str(word) for word in raw["not_covered_terms"])
    domain = frozenset(str(word) for word in raw["domain_terms"]) - not_covered
    neutral = frozenset(str(word) for word in raw.get("neutral_terms", ()))
    return _Vocabulary(
        domain=domain,
        stems=frozenset(word[:STEM_LETTERS] for word in domain if len(word) >= STEM_LETTERS),
        not_covered=not_covered,
        ignored=frozenset(STOP_WORDS) | neutral,
    )


def about_ldn_or_ms(text: str) -> bool:
    """Does a message name LDN, MS or a subject people ask about them (the scope
    vocabulary's domain or not-covered terms), beyond stop words and filler?"""
    vocabulary = _vocabulary()
    for word in _TOKEN.findall(text.lower()):
        if word in vocabulary.ignored:
            continue
        for form in _forms(word):
            if form in vocabulary.ignored:
                continue
            if form in vocabulary.domain or form in vocabulary.not_covered:
                return True
            if len(form) >= STEM_LETTERS and form[:STEM_LETTERS] in vocabulary.stems:
                return True
    return False


def _forms(word: str) -> tuple[str, ...]:
    """A word and its singular, roughly ("doses" -> "dose", "effects" -> "effect")."""
    forms = [word.strip("'-")]
    if word.endswith("'s"):
        forms.append(word[:-2])
    elif word.endswith("ies"):
        forms.append(word[:-3] + "y")
    elif word.endswith("es"):
        forms += [word[:-1], word[:-2]]
    elif word.endswith("s"):
        forms.append(word[:-1])
    return tuple(forms)
