"""The source article, split into sentences and references with stable ids.

Ids are positional (`s01`, `s02`, ... in reading order; `r1` ... `r5` for the
reference list), so they stay the same as long as the article text does. The
article's content hash is its version: it goes into every ledger row and into
the model fingerprint.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_SENTENCE_END = re.compile(r"(?<=[.?!:])\s+(?=[A-Z])")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[.,;:?!])")
_ENTRY = re.compile(r"(?P<text>\S.*?)\s+(?P<url>https?://\S+)")
_APA = re.compile(r"APA\s+(?P<apa>Fletcher, J\..*?Medical News Today\s*\.)")


@dataclass(frozen=True)
class Sentence:
    """One sentence of the article body, whitespace-normalised."""

    id: str
    text: str


@dataclass(frozen=True)
class Reference:
    """One entry of the article's reference list."""

    id: str
    text: str
    url: str


@dataclass(frozen=True)
class Article:
    """The parsed article: body sentences, references and the APA citation."""

    sentences: tuple[Sentence, ...]
    references: tuple[Reference, ...]
    citation: str
    version: str

    def sentence(self, sentence_id: str) -> Sentence:
        for sentence in self.sentences:
            if sentence.id == sentence_id:
                return sentence
        raise KeyError(f"no sentence {sentence_id!r} in the article")

    def reference(self, reference_id: str) -> Reference:
        for reference in self.references:
            if reference.id == reference_id:
                return reference
        raise KeyError(f"no reference {reference_id!r} in the article")


def squash(text: str) -> str:
    """Collapse white space, and drop it before punctuation (left by stripped links)."""
    return _SPACE_BEFORE_PUNCT.sub("", _SPACE.sub(" ", text)).strip()


def parse_article(raw: str) -> Article:
    """Split the raw article export into body sentences and references.

    The export's first line is the body; what follows is the reference list
    (each entry ends with its URL, and the list is printed twice) and the
    citation formats.
    """
    body, _, rest = raw.strip().partition("\n")
    sentences = tuple(
        Sentence(id=f"s{n:02d}", text=text)
        for n, text in enumerate(_SENTENCE_END.split(squash(body)), start=1)
    )
    references: list[Reference] = []
    for match in _ENTRY.finditer(html.unescape(squash(rest))):
        if match["url"] in {reference.url for reference in references}:
            break
        references.append(
            Reference(id=f"r{len(references) + 1}", text=match["text"], url=match["url"])
        )
    apa = _APA.search(squash(rest))
    if apa is None:
        raise ValueError("the article's APA citation was not found")
    citation = apa.group("apa")
    return Article(
        sentences=sentences,
        references=tuple(references),
        citation=citation,
        version=hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12],
    )


@lru_cache(maxsize=4)
def load_article(path: Path) -> Article:
    """Read and parse the article once per path."""
    return parse_article(path.read_text(encoding="utf-8"))
