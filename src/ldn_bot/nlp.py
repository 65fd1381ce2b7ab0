"""The project's spaCy pipeline, shared by the guard and the Rasa NLU.

Built from `spacy.blank("en")` (no pretrained model is in reach), the lookup
lemmatizer from `spacy-lookups-data`, and `ldn_typo_fixer`, which maps unknown
misspellings of the guard's trigger words ("dosege", "spliting") to the word
itself, so both the detector's patterns and the NLU see the corrected lemma.
"""

from functools import lru_cache

import spacy
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from spacy.language import Language
from spacy.pipeline import Lemmatizer
from spacy.tokens import Doc

PIPELINE_VERSION = "ldn-blank-en-v1"

# Words the guard's rules hinge on; misspellings of these are corrected.
TRIGGER_WORDS = frozenset(
    [
        "dose",
        "doses",
        "dosage",
        "dosages",
        "dosing",
        "milligram",
        "milligrams",
        "microgram",
        "micrograms",
        "milliliter",
        "milliliters",
        "millilitre",
        "millilitres",
        "titrate",
        "titration",
        "taper",
        "tapering",
        "split",
        "splitting",
        "splitter",
        "crush",
        "crushing",
        "crusher",
        "grind",
        "grinding",
        "dissolve",
        "dissolving",
        "halve",
        "halving",
        "quarter",
        "quarters",
        "tablet",
        "tablets",
        "capsule",
        "capsules",
        "pill",
        "pills",
        "cutter",
        "naltrexone",
        "overdose",
        "overdosed",
        "bleeding",
        "bruising",
        "bruises",
        "suicide",
        "suicidal",
        "breathe",
        "breathing",
        "maximum",
        "minimum",
        "increase",
        "decrease",
        "morning",
        "evening",
        "bedtime",
        "nighttime",
        "frequency",
        "often",
        "liquid",
        "compound",
        "compounding",
        "pregnant",
        "pregnancy",
        "breastfeeding",
        "surgery",
        "stomach",
        "prescription",
        "amount",
        "strength",
        "milligramme",
        "powder",
        "swallow",
        "pain",
        "chest",
        "breath",
        "bleed",
        "amount",
        "splitting",
        "time",
        "take",
    ]
)

# Foreign trigger words, for misspellings the glossary cannot see ("dosiss").
FOREIGN_TRIGGERS = {
    "dosis": "dose",
    "dosierung": "dose",
    "dosaggio": "dose",
    "dosagem": "dose",
    "posologia": "dose",
    "posologie": "dose",
    "dosificacion": "dose",
}

# The lookup table reads some common words as inflections of rarer ones
# ("does" as the plural of "dose"); these lemmas win over it.
LEMMA_OVERRIDES = {
    "does": "do",
    "evening": "evening",
    "tak": "take",
    "tok": "take",
    "tke": "take",
    # three-letter misspellings of "time" (too short for the typo fixer's edit distance)
    "tme": "time",
    "tim": "time",
    "tym": "time",
}


class TypoFixer:
    """Replace the lemma of an unknown word by the trigger word it misspells."""

    def __init__(self, nlp: Language) -> None:
        lemmatizer = nlp.get_pipe("lemmatizer")
        assert isinstance(lemmatizer, Lemmatizer)
        lookups = lemmatizer.lookups.get_table("lemma_lookup")
        self._lemmas = {word: lookups.get(word, word) for word in TRIGGER_WORDS}
        self._lemmas.update(FOREIGN_TRIGGERS)
        self._table = lookups
        self._lemma_values = frozenset(lookups.values())
        self._triggers = sorted(TRIGGER_WORDS | FOREIGN_TRIGGERS.keys())
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
            and word not in TRIGGER_WORDS
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
        for token in doc:
            override = LEMMA_OVERRIDES.get(token.lower_)
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
