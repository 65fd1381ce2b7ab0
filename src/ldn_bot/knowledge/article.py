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
# Where the export ends a paragraph: a sentence end followed by two or more spaces (a
# link left two spaces too, but never after a sentence end).
_PARAGRAPH_END = re.compile(r"(?<=[.?!:])\s{2,}(?=[A-Z])")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[.,;:?!])")
_ENTRY = re.compile(r"(?P<text>\S.*?)\s+(?P<url>https?://\S+)")
_APA = re.compile(r"APA\s+(?P<apa>Fletcher, J\..*?Medical News Today\s*\.)")
# The APA line's parts ("Fletcher, J. (2019, June 12). "Title?." Medical News Today.")
# and the MLA line's address of the original ("&lt;https://...&gt;").
_APA_PARTS = re.compile(
    r"(?P<author>.+?)\s*\((?P<year>\d{4}), (?P<month>[A-Z][a-z]+) (?P<day>\d{1,2})\)\.\s*"
    r'"(?P<title>.+?)\.?"'
)
_ORIGINAL_URL = re.compile(r"<(?P<url>https?://[^>\s]+)>")


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
    """The parsed article: body sentences, references and the APA citation, with the
    title, author, publication date ("12 June 2019") and original address read from the
    citation formats ("" when the export lacks them), and the sentence ids of each
    paragraph of the body."""

    sentences: tuple[Sentence, ...]
    references: tuple[Reference, ...]
    citation: str
    version: str
    title: str = ""
    author: str = ""
    published: str = ""
    url: str = ""
    paragraphs: tuple[tuple[str, ...], ...] = ()

    def sentence(self, sentence_id: str) -> Sentence:
        """The sentence with id `sentence_id` (KeyError if there is none)."""
        for sentence in self.sentences:
            if sentence.id == sentence_id:
                return sentence
        raise KeyError(f"no sentence {sentence_id!r} in the article")

    def reference(self, reference_id: str) -> Reference:
        """The reference with id `reference_id` (KeyError if there is none)."""
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
    paragraphs = _paragraphs(body, sentences)
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
    parts = _APA_PARTS.match(citation)
    original = _ORIGINAL_URL.search(html.unescape(squash(rest)))
    return Article(
        sentences=sentences,
        references=tuple(references),
        citation=citation,
        version=hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12],
        title=parts["title"] if parts else "",
        author=_first_name_first(parts["author"]) if parts else "",
        published=f"{int(parts['day'])} {parts['month']} {parts['year']}" if parts else "",
        url=original["url"] if original else "",
        paragraphs=paragraphs,
    )


def _first_name_first(author: str) -> str:
    """An author "Fletcher, J." as "J. Fletcher" (a name without a comma stays as it is)."""
    last, comma, first = author.partition(",")
    return f"{first.strip()} {last.strip()}" if comma and first.strip() else author.strip()


def _paragraphs(body: str, sentences: tuple[Sentence, ...]) -> tuple[tuple[str, ...], ...]:
    """The sentence ids of each paragraph, or one paragraph per sentence when the
    paragraphs do not split into exactly the article's sentences."""
    ids = iter(sentence.id for sentence in sentences)
    grouped = []
    for paragraph in _PARAGRAPH_END.split(body.strip()):
        count = len(_SENTENCE_END.split(squash(paragraph))) if squash(paragraph) else 0
        grouped.append(tuple(next(ids, "") for _ in range(count)))
    flat = [sentence_id for group in grouped for sentence_id in group]
    if flat != [sentence.id for sentence in sentences]:
        return tuple((sentence.id,) for sentence in sentences)
    return tuple(group for group in grouped if group)


@lru_cache(maxsize=4)
def load_article(path: Path) -> Article:
    """Read and parse the article once per path."""
    return parse_article(path.read_text(encoding="utf-8"))
