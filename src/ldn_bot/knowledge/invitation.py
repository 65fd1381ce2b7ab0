"""The assistant's own invitations, understood: "what does the article say about X",
"tell me about X", "anything on X", "info on X", "X?" ask for the topic X names.

A bag-of-words classifier reads the frame's words ("what does the article say") as
much as the subject, so these questions went to whichever topic its training data
phrased that way. Here the frame is matched as a whole (`invitations.yml`) and the
subject must name exactly one topic (`subjects` in `topics.yml`), word for word up to
fillers and small typos; anything else (an extra word, two topics, no topic) gives
None and the NLU decides as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import permutations
from pathlib import Path

import yaml
from rapidfuzz.distance import DamerauLevenshtein

from ldn_bot.knowledge.base import KnowledgeBase, Topic

INVITATIONS_FILE = Path(__file__).with_name("invitations.yml")
DRUG_TOPIC = "naltrexone"
MS_TOPIC = "ms"
_MS = "ms"
_WORDS = re.compile(r"[a-z0-9]+")
_END = re.compile(r"[\s?!.,;:)(\"'*~]+$")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")  # "ldn's safety"
_LOW_DOSE = re.compile(r"\blow[\s-]*dos(?:e|ed|age)?\s+(?=naltrex|ldn)")

Lemmatize = Callable[[str], str]


def _identity(word: str) -> str:
    return word


@dataclass(frozen=True)
class Invitations:
    """Frames, fillers and topic subjects; `topic()` reads one message."""

    frames: tuple[re.Pattern[str], ...]
    fillers: frozenset[str]
    drug: frozenset[str]
    subjects: Mapping[str, tuple[tuple[str, ...], ...]]  # topic id -> its subjects, as words

    def topic(self, text: str, lemmatize: Lemmatize = _identity) -> str | None:
        """The topic a whole-message invitation asks for, or None.

        `text` should already be normalised (`ldn_bot.guard.normalize`); `lemmatize`
        maps one lowercased word to its lemma ("risks" -> "risk").
        """
        message = _END.sub("", text.lower()).strip()
        if not message or len(message) > 120:
            return None
        message = _LOW_DOSE.sub("", message)
        candidates = [message]
        for frame in self.frames:
            found = frame.fullmatch(message)
            if found:
                candidates.append(found.group("subject"))
        topics = {topic for subject in candidates if (topic := self._named(subject, lemmatize))}
        return topics.pop() if len(topics) == 1 else None

    def _named(self, subject: str, lemmatize: Lemmatize) -> str | None:
        words = [lemmatize(word) for word in _WORDS.findall(_POSSESSIVE.sub("", subject))]
        if not words or len(words) > 8:
            return None
        content = tuple(w for w in words if w not in self.fillers and w not in self.drug)
        if not content:
            return DRUG_TOPIC if any(w in self.drug for w in words) else None
        if content == (_MS,):
            return DRUG_TOPIC if any(w in self.drug for w in words) else MS_TOPIC
        matches = {topic for topic, names in self.subjects.items() if _any_equal(content, names)}
        if not matches and content[-1] == _MS:  # "risks for ms", "ms prevalence" kept whole above
            matches = {
                topic for topic, names in self.subjects.items() if _any_equal(content[:-1], names)
            }
        return matches.pop() if len(matches) == 1 else None


def _any_equal(words: Sequence[str], names: Iterable[tuple[str, ...]]) -> bool:
    """The words are one of the names, in any order ("study from 2017" is "2017 study")."""
    return any(
        len(name) == len(words)
        and any(all(map(_same_word, words, order)) for order in _orders(name))
        for name in names
    )


def _orders(name: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    return permutations(name) if len(name) <= 4 else (name,)


def _same_word(word: str, name: str) -> bool:
    """Equal, or a small typo of a long enough word ("efects", "thrombocytopinia")."""
    if word == name or (word.endswith("s") and word[:-1] == name):
        return True
    if not word.isalpha() or min(len(word), len(name)) < 4:
        return False
    allowed = 1 if len(name) < 8 else 2
    return any(
        DamerauLevenshtein.distance(form, name, score_cutoff=allowed) <= allowed
        for form in {word, word.removesuffix("s")}
    )


def load_invitations(
    topic_subjects: Mapping[str, Iterable[str]],
    lemmatize: Lemmatize = _identity,
    path: Path = INVITATIONS_FILE,
) -> Invitations:
    """Frames and fillers from `invitations.yml`; subjects as the topics name them."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    fillers = frozenset(lemmatize(str(w)) for w in raw["fillers"]) | frozenset(raw["fillers"])
    drug = frozenset(str(w) for w in raw["drug"])

    def words(name: str) -> tuple[str, ...]:
        lemmas = (lemmatize(w) for w in _WORDS.findall(name.lower()))
        return tuple(w for w in lemmas if w not in fillers and w not in drug)

    subjects = {
        topic: tuple(filter(None, (words(name) for name in names)))
        for topic, names in topic_subjects.items()
    }
    return Invitations(
        frames=tuple(re.compile(str(frame)) for frame in raw["frames"]),
        fillers=fillers,
        drug=drug,
        subjects=subjects,
    )


@lru_cache(maxsize=4096)
def word_lemma(word: str) -> str:
    """The lemma of one lowercased word in the project's pipeline (cached)."""
    from ldn_bot.nlp import pipeline

    doc = pipeline()(word)
    return doc[0].lemma_.lower() if len(doc) == 1 else word


@lru_cache(maxsize=4)
def invitations_for(kb: KnowledgeBase) -> Invitations:
    """The invitations naming `kb`'s topics, built once per knowledge base."""
    return load_invitations(
        {topic.id: topic.subjects for topic in kb.topics.values()}, lemmatize=word_lemma
    )


def invited_topic(kb: KnowledgeBase, text: str) -> Topic | None:
    """The topic a message asking for it by name ("tell me about X", "X?") asks for."""
    from ldn_bot.guard.normalize import normalize

    topic_id = invitations_for(kb).topic(normalize(text), word_lemma)
    return kb.topics.get(topic_id) if topic_id else None
