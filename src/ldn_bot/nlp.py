"""The project's spaCy pipeline, shared by the guard and the Rasa NLU.

Built from `spacy.blank("en")` (no pretrained model is in reach), the lookup
lemmatizer from `spacy-lookups-data`, and `ldn_typo_fixer`, which maps unknown
misspellings of the guard's trigger words ("dosege", "spliting") to the word
itself, so both the detector's patterns and the NLU see the corrected lemma.
The words are data: `guard/rules/vocabulary.yml`.
"""

from functools import lru_cache

import spacy
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from spacy.language import Language
from spacy.pipeline import Lemmatizer
from spacy.tokens import Doc

from ldn_bot.guard.vocabulary import vocabulary

PIPELINE_VERSION = "ldn-blank-en-v1"


class TypoFixer:
    """Replace the lemma of an unknown word by the trigger word it misspells."""

    def __init__(self, nlp: Language) -> None:
        lemmatizer = nlp.get_pipe("lemmatizer")
        assert isinstance(lemmatizer, Lemmatizer)
        lookups = lemmatizer.lookups.get_table("lemma_lookup")
        words = vocabulary()
        self._trigger_words = words.trigger_words
        self._overrides = words.lemma_overrides
        self._lemmas = {word: lookups.get(word, word) for word in words.trigger_words}
        self._lemmas.update(words.foreign_triggers)
        self._table = lookups
        self._lemma_values = frozenset(lookups.values())
        self._triggers = sorted(words.trigger_words | words.foreign_triggers.keys())
        self._cache: dict[str, str | None] = {}

    def is_known(self, word: str) -> bool:
        """True when the lemma table knows the word (as a form or a lemma)."""
        return word in self._table or word in self._lemma_values

    def correct(self, word: str) -> "str | None":
        """The trigger word `word` misspells, or None."""
        if word in self._cache:
            return self._cache[word]
        found: str | None = None
        if (
            len(word) >= 4
            and word.isalpha()
            and word not in self._trigger_words
            and not self.is_known(word)
        ):
            max_edits = 1 if len(word) < 7 else 2
            match = process.extractOne(
                word, self._triggers, scorer=DamerauLevenshtein.distance, score_cutoff=max_edits
            )
            found = match[0] if match else None
        if len(self._cache) < 50_000:
            self._cache[word] = found
        return found

    def __call__(self, doc: Doc) -> Doc:
        """Set the lemma of each misspelt trigger word it recognises."""
        for token in doc:
            override = self._overrides.get(token.lower_)
            if override is not None:
                token.lemma_ = override
                continue
            fixed = self.correct(token.lower_)
            if fixed is not None:
                token.lemma_ = self._lemmas.get(fixed, fixed)
                token.norm_ = fixed
        return doc


@Language.factory("ldn_typo_fixer")
def make_typo_fixer(nlp: Language, name: str) -> TypoFixer:
    """The spaCy factory of the typo fixer pipe."""
    return TypoFixer(nlp)


def build_pipeline() -> Language:
    """A fresh pipeline: blank English, lookup lemmatizer, typo fixer."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.add_pipe("ldn_typo_fixer")
    return nlp


@lru_cache(maxsize=1)
def pipeline() -> Language:
    """The shared pipeline, built once per process."""
    return build_pipeline()


def is_known_word(word: str) -> bool:
    """True for a word the English lemma table knows (so not gibberish)."""
    fixer = pipeline().get_pipe("ldn_typo_fixer")
    assert isinstance(fixer, TypoFixer)
    return fixer.is_known(word)
