"""One turn of the assistant, decided without Rasa: guard first, then the article.

`answer_turn()` is what every answering action calls. It runs the second key
of the guard (the deterministic detector, again, on the raw text), and only
when that is clear answers from the knowledge base. It returns response names
and template values; the words themselves live in `domain.yml`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS

from ldn_bot.analysis import analyse
from ldn_bot.guard.conversation import is_question
from ldn_bot.guard.detector import CLEARED_ABOUT, detect
from ldn_bot.guard.verdict import Category, Verdict
from ldn_bot.knowledge.base import Answer, KnowledgeBase
from ldn_bot.knowledge.scope import Scope, scope_model
from ldn_bot.routing import LANGUAGE_RESPONSE, SAFETY_RESPONSE

logger = logging.getLogger(__name__)

ASK_MORE = "ask_more"
# A question the NLU was unsure of, with no keyword of any topic, of at most this many words
# after an article answer is a follow-up on that topic ("in the us?", "what did it
# find"): it gets more of the same topic rather than "I didn't understand". One that points
# back ("ok what does it actually do then") is a follow-up even without an article word.
FOLLOW_UP_WORDS = 8
POINTING_BACK = frozenset({"it", "its", "that", "this", "they", "them", "those", "these"})
# "for ms", "in ms patients", "with multiple sclerosis?" right after an article answer
# narrow that question to MS, which every topic is about: more of the same topic, not
# the MS topic. A fragment of at most `QUALIFIER_WORDS` words, opening with one of
# `QUALIFIER_OPENERS`, whose other content words all name MS or its patients.
QUALIFIER_WORDS = 5
QUALIFIER_OPENERS = frozenset({"for", "in", "with", "among", "regarding"})
MS_WORDS = frozenset(
    {"ms", "multiple", "sclerosis", "rrms", "ppms", "spms", "patient", "people", "person"}
)
QUESTION_ADVERBS = frozenset({"long", "much", "many", "often", "soon", "fast", "quickly"})
SCOPE_RESPONSE = {Scope.OFF_TOPIC: "utter_out_of_scope", Scope.NOT_COVERED: "utter_not_covered"}


@dataclass(frozen=True)
class Reply:
    """One response to send: a `domain.yml` response name and its template values."""

    response: str
    params: dict[str, str] = field(default_factory=dict)
    citations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """What the assistant answers to one message.

    Attributes:
        replies: responses to send, in order.
        verdict: the guard's verdict on the message.
        topic: the article topic answered (kept for "tell me more").
    """

    replies: tuple[Reply, ...]
    verdict: Verdict
    topic: str | None = None


Detector = Callable[..., Verdict]


def answer_turn(
    kb: KnowledgeBase,
    *,
    text: str | None,
    intent: str | None,
    last_topic: str | None = None,
    context: Category | None = None,
    detector: Detector = detect,
    unsupported_language: bool = False,
) -> Turn:
    """Answer one message; any failure ends in the doctor referral.

    A message the NLU's language check found in a language the assistant does not
    understand (`unsupported_language`) gets the language reply after the guard, never
    an article answer, a scope message or "topic first", whatever its intent.
    """
    try:
        verdict = detector(text or "", context=context)
    except Exception:
        logger.exception("guard failed in the answering step; failing closed")
        return fail_closed_turn()
    if verdict.blocked:
        return Turn((Reply(SAFETY_RESPONSE[verdict.category]),), verdict)
    if unsupported_language:
        return Turn((Reply(LANGUAGE_RESPONSE),), verdict)
    try:
        return _answer(kb, text or "", intent, last_topic, verdict)
    except Exception:
        logger.exception("answering failed; failing closed")
        return fail_closed_turn()


def fail_closed_turn(reason: str = "error") -> Turn:
    """The turn for when a safety step could not run: the doctor referral."""
    verdict = Verdict.fail_closed(reason)
    return Turn((Reply(SAFETY_RESPONSE[verdict.category]),), verdict)


def _answer(
    kb: KnowledgeBase, text: str, intent: str | None, last_topic: str | None, verdict: Verdict
) -> Turn:
    if intent == ASK_MORE:
        if last_topic not in kb.topics:
            return Turn((Reply("utter_ask_topic_first"),), verdict)
        answer = kb.answer(last_topic, more=True)
        if answer is None:
            return Turn((Reply("utter_no_more"),), verdict, topic=last_topic)
    elif last_topic in kb.topics and narrows_to_ms(text):
        answer = kb.answer(last_topic, more=True) or kb.answer(last_topic)
        assert answer is not None  # a topic always has units
    else:
        topic = kb.topic_for_intent(intent)
        if topic is None:  # the NLU was unsure: only a clear keyword match is answered
            words = lemmas(text)
            follow_up = (
                last_topic in kb.topics
                and len(words) <= FOLLOW_UP_WORDS
                and is_question(text)
                # a dose rule matched but was set aside ("how much is in it?"): not a follow-up
                and not set(verdict.cleared) - {CLEARED_ABOUT}
            )
            scope = scope_model(kb.article).scope(words)
            points_back = scope is Scope.OFF_TOPIC and not POINTING_BACK.isdisjoint(words)
            if scope in SCOPE_RESPONSE and not (follow_up and points_back):
                return Turn((Reply(SCOPE_RESPONSE[scope]),), verdict)
            topic = kb.best_topic(topic_words(words), lemmatize=lemmas)
            if topic is None and follow_up and last_topic is not None:
                answer = kb.answer(last_topic, more=True) or kb.answer(last_topic)
                assert answer is not None  # a topic always has units
                return _article_turn(answer, verdict)
        if topic is None:
            return Turn((Reply("utter_fallback"),), verdict)
        answer = kb.answer(topic.id, question=lemmas(text), lemmatize=lemmas)
        assert answer is not None  # a topic always has units
    return _article_turn(answer, verdict)


def _article_turn(answer: Answer, verdict: Verdict) -> Turn:
    replies = [
        Reply(
            "utter_article_answer",
            {"answer": answer.text, "source": answer.source},
            citations=answer.citations,
        ),
        *(Reply(note) for note in answer.notes),
    ]
    return Turn(tuple(replies), verdict, topic=answer.topic)


def topic_words(words: Sequence[str]) -> list[str]:
    """The words that can point at a topic: not the "long" of "how long" (a duration asked
    about, not the long-term study), nor the "much" of "how much"."""
    return [
        word
        for position, word in enumerate(words)
        if not (position > 0 and words[position - 1] == "how" and word in QUESTION_ADVERBS)
    ]


def narrows_to_ms(text: str) -> bool:
    """Is the message only a qualifier naming MS ("for ms", "in people with ms?")?"""
    words = [w for w in lemmas(text) if any(ch.isalpha() for ch in w)]
    return (
        0 < len(words) <= QUALIFIER_WORDS
        and words[0] in QUALIFIER_OPENERS
        and all(w in MS_WORDS or w in QUALIFIER_OPENERS or w in STOP_WORDS for w in words[1:])
        and any(w in MS_WORDS for w in words[1:])
    )


def lemmas(text: str) -> list[str]:
    """Lemmas of the normalised text, for keyword topic matching (the message's shared
    analysis: the guard read the same parse)."""
    return list(analyse(text).answer_lemmas)
