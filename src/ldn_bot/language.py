"""Which language a message is in, and whether the assistant understands it.

The guard's glossary makes English, Spanish, French, German, Italian and Portuguese
first-class; a message in any other language gets a fixed reply (the assistant only
understands those languages; dose questions go to a doctor) instead of a guess from an
English classifier. The guard still reads every message first, and its referral always
wins over the language reply (see `rasa_project.nlu.LanguageClassifier`).

Detection on short text is unreliable, so everything that is not clearly another
language takes the English path (`supported=True`), where the full guard and the NLU
decide as before:

- no letters, or only drug words and units ("ldn", "naltrexone", "mg", "ms"...);
- mostly English or drug words (more than `ENGLISH_SHARE` of the letters in drug words,
  the article's words, `ENGLISH_WORDS` or words of the English lemma table of
  `ldn_bot.nlp`), or mixed (more than `MIXED_SHARE` of the letters of the other words in
  English words, in Latin letters);
- short Latin-script text (fewer than `MIN_WORDS` words or `MIN_LETTERS` letters once the
  drug words are removed), unless it has `MIN_LETTER_WORDS` words or more and a letter
  none of the six languages uses (`OTHER_LETTERS`: Turkish ı ş ğ, Polish ł ą ę, Czech ř ě,
  Nordic å ø, Vietnamese tones...), which names its language however short it is;
- common words of the five glossary languages (more than `GLOSSARY_SHARE` of the
  letters of the other words in `GLOSSARY_WORDS`);
- a detector answer that is not confident (top language below `MIN_CONFIDENCE`) or mixed
  (the supported languages together at `MAX_SUPPORTED_SHARE` or more);
- any failure of the detector (fail closed: the guard runs as for English).

Text mostly in another script (Cyrillic, Greek, Arabic, Hebrew, CJK, Devanagari, Thai...)
is not in a supported language whatever its length, since all six are written in Latin
letters; it still needs `MIN_SCRIPT_LETTERS` letters.

The detector is Lingua (`lingua-language-detector`, a self-contained Rust wheel with its
models inside: nothing is downloaded) in low-accuracy mode restricted to `LANGUAGES`:
under 100 MB and 0.3 s to load, ~0.2 ms a message. High-accuracy mode needs 1.2 GB and
16 s for all 75 languages (560 MB for 22), too much for the NLU process. On full
sentences the low-accuracy mode tells supported from unsupported languages well; on
short ones it alone puts English in Tagalog or Danish and Spanish in Bosnian or Malay,
which the word rules above catch first (tests/unit/test_language.py). Some languages are left out of
`LANGUAGES` (see there). It is built once, lazily, on first use.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ldn_bot.knowledge.article import Article
from ldn_bot.nlp import is_known_word

logger = logging.getLogger(__name__)

SUPPORTED = frozenset({"en", "es", "fr", "de", "it", "pt"})

# Languages the detector chooses from (ISO 639-1): the supported six and the
# languages people most often write in, so that a message in one of them is named
# rather than forced onto a supported language. Left out: languages whose low-accuracy
# models pull in short Spanish, Portuguese or German text and that are hardly anyone's
# only language here: Latin and Esperanto, Nynorsk (Bokmål, "nb", stays), Afrikaans,
# Irish, Welsh, Basque, Maori, Somali and the southern African languages other than
# Swahili (Tsonga, Shona, Sotho, Tswana, Xhosa, Zulu, Yoruba, Ganda).
LANGUAGES = (
    *sorted(SUPPORTED),
    *("nl", "pl", "sv", "da", "nb", "is", "fi", "et", "lv", "lt", "cs", "sk", "hu", "ro"),
    *("sq", "hr", "sr", "bs", "sl", "bg", "mk", "ru", "uk", "be", "el", "tr", "az", "ka"),
    *("hy", "ar", "fa", "ur", "he", "hi", "mr", "bn", "pa", "gu", "ta", "te", "th", "vi"),
    *("id", "ms", "tl", "zh", "ja", "ko", "ca", "sw", "mn", "kk"),
)

MIN_WORDS = 4  # Latin-script words left once drug words are removed
MIN_ARTICLE_WORD = 4  # letters of an article word that counts as neutral
MIN_LETTERS = 12  # Latin-script letters left once drug words are removed
MIN_LETTER_WORDS = 2  # words a short message with one of `OTHER_LETTERS` needs
MIN_SCRIPT_LETTERS = 2  # letters of another script (a CJK word can be two characters)
SCRIPT_SHARE = 0.5  # share of letters in another script that makes a message "another script"
ENGLISH_SHARE = 0.5  # more than this share of letters in English or drug words: English path
MIXED_SHARE = 0.4  # more than this share of the other letters in English words: mixed
GLOSSARY_SHARE = 0.3  # more than this share of the other letters in GLOSSARY_WORDS: supported
MIN_CONFIDENCE = 0.5  # the top language's confidence needed to call it
MAX_SUPPORTED_SHARE = 0.25  # the supported languages' summed confidence that makes it "mixed"

# Drug names, units and abbreviations written the same in every language.
DRUG_WORDS = frozenset(
    {
        *("ldn", "naltrexone", "naltrexon", "naltrexona", "naltrexonum", "naltrekson"),
        *("naltrexone's", "revia", "vivitrol", "mg", "mgs", "mcg", "µg", "ug", "ml", "g"),
        *("ms", "rrms", "ppms", "spms", "fda", "otc", "x", "pm", "am", "hr", "h", "lol"),
    }
)

# Common English words (the English lemma table, `ldn_bot.nlp.is_known_word`, knows
# content words but few function words): with it, enough to see that a message is
# mostly English however a detector scores it. Some are words of other languages too
# ("to", "no", "was"); a share of the letters decides, not one word.
ENGLISH_WORDS = frozenset(
    """
    the and or but what how much many why when where who which whose should would could can
    does did do don't doesn't i'm i've it's my your you yours me myself she he his him they
    them their this that these those with without from about into for just only also very
    take taking took taken dose doses dosage dosing pill pills tablet tablets capsule split
    half quarter cut daily day night morning evening week weekly start starting stop stopping
    help helps work works safe side effects effect fatigue pain sleep dreams doctor neurologist
    pharmacist compounded compounding low high more less too enough okay ok thanks thank please
    yes hi hello hey bye good great bad well tell know want need have has had been being will
    whats what's hows how's who's wheres the to of by are was were not no
    there here again still now then any some all every other same after before if than
    like get got make made feel feeling better worse study studies trial research article
    multiple sclerosis relapse relapses symptoms symptom treatment medication medicine drug
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Common words of the five glossary languages that are not common words of the other
# languages written in Latin letters (no "de", "la", "en", "na", "do", "i", "a", "o"...):
# the low-accuracy detector puts short Spanish or Portuguese in Bosnian or Catalan.
GLOSSARY_WORDS = frozenset(
    """
    qué que cómo cuál cuánto cuántos cuánta cuántas puedo debo tengo está están esta este
    para por los las del una sobre también pero muy más hay tomar sirve seguro segura
    c'est est qui quoi les des une pour avec dans pas je peux dois prendre il elle cette
    comment combien quel quelle quels quelles faut
    ist das der und ich nicht wie was viel viele soll kann mit für ein eine bei auf oder
    sind nehmen darf gibt wirkt
    è il che sono come quanto quanti quanta posso devo prendere della delle gli non cosa
    cos'è funziona
    é os não como quantos posso tomo isso pode funciona segura existem
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Latin letters that none of the six supported languages writes: one of them in a short
# message says more about its language than the detector can (lower case, as compared).
OTHER_LETTERS = frozenset(
    "ışğőűłąężźśćńřěůčšžďťňľĺŕėįųūāēīķļņģășțţđøåþðơư"
    + "".join(chr(code) for code in range(0x1EA0, 0x1EFA))  # Vietnamese letters with tones
)

# Any spelling or inflection of the drug's name and of milligrams (naltreksonu, naltrexzone,
# milligrammi, miligramos...), as neutral as the drug words.
_DRUG_OR_UNIT = re.compile(r"^(?:nal?tre|naltex|nalterx|mill?igram)")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class LanguageVerdict:
    """The language check's answer for one message.

    Attributes:
        language: ISO 639-1 code of the detected language, or None when not called.
        confidence: the detector's confidence in `language` (0 when not called).
        supported: False only when the message is clearly in a language the assistant
            does not understand; True (the English path) whenever in doubt.
        reason: why (`supported_language`, `other_language`, `other_script`, `other_letters`,
            `english_words`, `short`, `uncertain`, `mixed`, `no_words`, `error`).
    """

    language: str | None
    confidence: float
    supported: bool
    reason: str

    @classmethod
    def english_path(
        cls, reason: str, language: str | None = None, confidence: float = 0.0
    ) -> LanguageVerdict:
        """A verdict that keeps the full English path (the guard and the NLU as before)."""
        return cls(language, confidence, True, reason)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as plain JSON values (confidence rounded)."""
        return {
            "language": self.language,
            "confidence": round(self.confidence, 3),
            "supported": self.supported,
            "reason": self.reason,
        }


def identify(text: str | None, known_words: frozenset[str] = frozenset()) -> LanguageVerdict:
    """The language of a message; never raises (a failure takes the English path).

    `known_words` (lower case) are neutral like the drug words: the article's own
    vocabulary, whose names (Raknes, Småbrekke...) say nothing about the language.
    """
    try:
        return _identify(text or "", known_words)
    except Exception:
        logger.exception("language identification failed; taking the English path")
        return LanguageVerdict.english_path("error")


def _identify(text: str, known_words: frozenset[str]) -> LanguageVerdict:
    words = _WORD.findall(unicodedata.normalize("NFC", text).casefold())
    content = [w for w in words if not (_neutral(w) or w in known_words)]
    if not content:
        return LanguageVerdict.english_path("no_words")
    letters = sum(len(w) for w in words)
    english = sum(len(w) for w in content if _english(w))
    if (english + letters - sum(len(w) for w in content)) / letters > ENGLISH_SHARE:
        return LanguageVerdict.english_path("english_words")
    content_letters = "".join(content)
    other_script = sum(1 for ch in content_letters if not _latin(ch))
    if other_script / len(content_letters) >= SCRIPT_SHARE:
        if other_script < MIN_SCRIPT_LETTERS:
            return LanguageVerdict.english_path("short")
        code, confidence = _best(" ".join(content))
        if code in SUPPORTED:
            code, confidence = None, 1.0
        return LanguageVerdict(code, confidence, False, "other_script")
    short = len(content) < MIN_WORDS or len(content_letters) < MIN_LETTERS
    if short and not _other_letters(content):
        return LanguageVerdict.english_path("short")
    if english / len(content_letters) > MIXED_SHARE:
        return LanguageVerdict.english_path("mixed")
    glossary = sum(len(w) for w in content if w in GLOSSARY_WORDS)
    if glossary / len(content_letters) > GLOSSARY_SHARE:
        return LanguageVerdict.english_path("glossary_words")
    ranked = _detector_ranking(" ".join(content))
    if short:
        code, confidence = next(((c, v) for c, v in ranked if c not in SUPPORTED), (None, 1.0))
        return LanguageVerdict(code, confidence, False, "other_letters")
    if not ranked:
        return LanguageVerdict.english_path("uncertain")
    code, confidence = ranked[0]
    if code in SUPPORTED:
        return LanguageVerdict(code, confidence, True, "supported_language")
    if confidence < MIN_CONFIDENCE:
        return LanguageVerdict.english_path("uncertain", code, confidence)
    if sum(c for lang, c in ranked if lang in SUPPORTED) >= MAX_SUPPORTED_SHARE:
        return LanguageVerdict.english_path("mixed", code, confidence)
    return LanguageVerdict(code, confidence, False, "other_language")


def article_words(article: Article) -> frozenset[str]:
    """The article's words of `MIN_ARTICLE_WORD` letters or more, lower case: neutral for
    `identify` (its names say nothing of the language a message is in; its short words,
    "in", "is", "was", "we"..., are words of other languages too)."""
    texts = [sentence.text for sentence in article.sentences]
    texts += [reference.text for reference in article.references]
    words = _WORD.findall(unicodedata.normalize("NFC", " ".join(texts)).casefold())
    return frozenset(word for word in words if len(word) >= MIN_ARTICLE_WORD)


def _neutral(word: str) -> bool:
    return word in DRUG_WORDS or bool(_DRUG_OR_UNIT.match(word))


def _other_letters(content: list[str]) -> bool:
    return len(content) >= MIN_LETTER_WORDS and any(
        ch in OTHER_LETTERS for word in content for ch in word
    )


def _english(word: str) -> bool:
    return word in ENGLISH_WORDS or is_known_word(word)


def _latin(ch: str) -> bool:
    return "LATIN" in unicodedata.name(ch, "")


def _best(text: str) -> tuple[str | None, float]:
    ranked = _detector_ranking(text)
    return ranked[0] if ranked else (None, 1.0)


def _detector_ranking(text: str) -> list[tuple[str, float]]:
    """(ISO code, confidence) pairs, most likely first; confidences sum to 1 (or none)."""
    values = detector().compute_language_confidence_values(text)
    return [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]


@lru_cache(maxsize=1)
def detector() -> Any:
    """The Lingua detector, built once on first use (in the NLU process only)."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    return (
        LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )
