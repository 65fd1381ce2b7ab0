"""The guard over a conversation: the last message read with the ones before it.

The detector judges one message. People spread a dose question over several ("i have
the 50mg tablets" / "how do i get it down to a low dose"), and after a referral they
insist ("i'm a nurse", "just a range", "as a table then"). `ConversationGuard.judge`
reads the current message alone, then with the user's previous messages (the window),
then in the dose context a referral left; the rules are data (`rules/conversation.yml`).

It knows nothing of Rasa: the caller passes the previous user messages, the context the
conversation is in (what the last reply left, kept in the tracker) and the NLU's own
guess; `ldn_bot.routing.context_after` gives the context the turn's reply leaves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from ldn_bot.guard.detector import FOLLOWUP, detect
from ldn_bot.guard.rules_yaml import load_rules_yaml
from ldn_bot.guard.verdict import Category, Verdict

RULES_FILE = Path(__file__).parent / "rules" / "conversation.yml"
# The contexts in which the conversation stays on the subject until a message leaves it.
DOSE_CONTEXTS = frozenset({Category.DOSING, Category.PILL_SPLITTING, Category.PERSONAL_ADVICE})
CONTEXT_RULE = "context"  # `Verdict.rule` of a referral the dose context decided
FOLLOWUP_PREFIX = f"{FOLLOWUP}."  # the follow-up rules' ids (`rules/guard.yml`)
_SENTENCE_END = re.compile(r"[.!:;,\n]+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


class Source(str, Enum):
    """What decided a turn's verdict."""

    MESSAGE = "message"  # the message alone
    WINDOW = "window"  # the message read with the user's previous messages
    CONTEXT = "context"  # the dose context left by an earlier referral


@dataclass(frozen=True)
class Guess:
    """The NLU classifier's own guess for the message (before any guard or scope step)."""

    intent: str | None = None
    confidence: float = 0.0


@dataclass(frozen=True)
class Reading:
    """The guard's decision on one turn of a conversation.

    Attributes:
        verdict: what decides the reply (a referral when the window or the context
            decided, with the window's rule or `context`).
        source: what decided it.
        context: the context the turn started in (what the previous replies left).
    """

    verdict: Verdict
    source: Source = Source.MESSAGE
    context: Category | None = None

    @property
    def insisting(self) -> bool:
        """A referral only because the conversation is on a dose subject: the reply
        says it still cannot give doses, whoever asks and however."""
        return self.source is Source.CONTEXT

    def as_dict(self) -> dict[str, object]:
        """The verdict's fields plus where it came from (for logs and the ledger)."""
        return {
            **self.verdict.as_dict(),
            "source": self.source.value,
            "context": self.context and self.context.value,
        }


@dataclass(frozen=True)
class ConversationRules:
    """`rules/conversation.yml`, read."""

    window: int
    window_chars: int
    closing: frozenset[str]
    min_confidence: float
    weak_min_confidence: float
    min_words: int
    ending_intents: frozenset[str]
    question_words: frozenset[str]
    question_phrases: tuple[str, ...]
    continuations: frozenset[str]
    openers: frozenset[str]
    pointing: frozenset[str]
    command: re.Pattern[str]
    weak_followups: frozenset[str]

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> ConversationRules:
        """The rules of `path` (`rules/conversation.yml` by default)."""
        raw = load_rules_yaml(path)
        ends = raw["ends_context"]
        return cls(
            window=int(raw["window"]),
            window_chars=int(raw["window_chars"]),
            closing=frozenset(str(word).lower() for word in ends["closing"]),
            min_confidence=float(ends["min_confidence"]),
            weak_min_confidence=float(ends["weak_min_confidence"]),
            min_words=int(ends["min_words"]),
            ending_intents=frozenset(str(intent) for intent in ends["intents"]),
            question_words=frozenset(str(word).lower() for word in ends["question_words"]),
            question_phrases=tuple(str(phrase).lower() for phrase in ends["question_phrases"]),
            continuations=frozenset(str(word).lower() for word in ends["continuations"]),
            openers=frozenset(str(word).lower() for word in ends["openers"]),
            pointing=frozenset(str(word).lower() for word in ends["pointing"]),
            command=re.compile(str(ends["command"])),
            weak_followups=frozenset(str(rule) for rule in raw["weak_followups"]),
        )


Detect = Callable[..., Verdict]


class ConversationGuard:
    """Judges the last message of a conversation (see the module docstring)."""

    def __init__(
        self,
        rules: ConversationRules,
        article_intents: Collection[str],
        detect: Detect = detect,
    ) -> None:
        self.rules = rules
        self.ending_intents = frozenset(article_intents) | rules.ending_intents
        self._detect = detect

    def judge(
        self,
        text: str,
        *,
        previous: Sequence[str] = (),
        context: Category | None = None,
        guess: Guess = Guess(),
    ) -> Reading:
        """The verdict on `text`, the latest of the user's messages.

        Args:
            text: the message.
            previous: the user's earlier messages, oldest first.
            context: the context the last turn left (`Reading.context_after`).
            guess: the NLU's guess for `text`, which can end a dose context.
        """
        verdict = self._detect(text, context=context)
        weak = verdict.rule in self.rules.weak_followups
        if verdict.blocked and not weak:
            return Reading(verdict, Source.MESSAGE, context)
        if not weak:
            window = self._window(text, previous, context)
            if window is not None:
                return Reading(window, Source.WINDOW, context)
        if context in DOSE_CONTEXTS:
            if not self._leaves_context(text, verdict, guess):
                insisted = Verdict(context, rule=CONTEXT_RULE, rules=(*verdict.rules, CONTEXT_RULE))
                return Reading(insisted, Source.CONTEXT, context)
            if weak:  # "and what did the other study find?": a question of its own
                verdict = Verdict(Category.NONE, rules=verdict.rules)
        return Reading(verdict, Source.MESSAGE, context)

    def _window(
        self, text: str, previous: Sequence[str], context: Category | None
    ) -> Verdict | None:
        """The referral that the message completes with the user's previous messages."""
        recent = previous[-(self.rules.window - 1) :] if self.rules.window > 1 else ()
        earlier = [m[-self.rules.window_chars :] for m in recent if m and m.strip()]
        if not earlier:
            return None
        before = " ".join(earlier)
        joined = self._detect(f"{before} {text}", context=context)
        if not joined.blocked:
            return None
        if joined.rule in self._detect(before, context=context).rules:
            return None  # the earlier messages were that question already
        return joined

    def _leaves_context(self, text: str, verdict: Verdict, guess: Guess) -> bool:
        """Thanks, a goodbye, or a clear, standalone question (no follow-up rule but the
        weak ones matched it): the dose context ends."""
        plain = unicodedata.normalize("NFKC", text).casefold()
        if self.rules.command.match(plain.strip()):
            return True
        words = _WORD.findall(plain)
        if words and all(word in self.rules.closing for word in words):
            return True
        followups = {r for r in verdict.rules if r.startswith(FOLLOWUP_PREFIX)}
        weak = bool(followups & self.rules.weak_followups)
        bar = self.rules.weak_min_confidence if weak else self.rules.min_confidence
        opened = list(words)
        while opened and opened[0] in self.rules.openers:
            opened.pop(0)
        return (
            bool(opened)
            and opened[0] not in self.rules.continuations
            and self._has_subject(opened)
            and not followups - self.rules.weak_followups
            and len(words) >= self.rules.min_words
            and is_question(plain, self.rules)
            and guess.intent in self.ending_intents
            and guess.confidence >= bar
        )

    def _has_subject(self, words: Sequence[str]) -> bool:
        """A word of its own beyond question words and pronouns: "what is it" and "and
        that?" point back at the dose question; "what is ldn" asks something new."""
        return any(
            word not in self.rules.pointing and word not in self.rules.question_words
            for word in words
        )


def is_question(text: str, rules: ConversationRules | None = None) -> bool:
    """A question mark, or a sentence that starts (after openers such as "ok", "so") with a
    question word (`rules/conversation.yml`)."""
    rules = rules or conversation_rules()
    plain = unicodedata.normalize("NFKC", text).casefold()
    if "?" in plain:
        return True
    for sentence in _SENTENCE_END.split(plain):
        words = _WORD.findall(sentence)
        while words and words[0] in rules.openers:
            words.pop(0)
        if words and words[0] in rules.question_words:
            return True
        if " ".join(words).startswith(rules.question_phrases):
            return True
    return False


@lru_cache(maxsize=1)
def conversation_rules() -> ConversationRules:
    """The rules file, read once per process."""
    return ConversationRules.load()


def fail_closed(context: Category | None = None) -> Reading:
    """The reading when judging the conversation failed: the referral."""
    return Reading(Verdict.fail_closed(), Source.MESSAGE, context)
