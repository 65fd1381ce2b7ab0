"""The source line of an article answer, in words a patient can check.

"Medical News Today, 12 June 2019 · read the passage. Cited: Ludwig, M. D., et al.
(2016). Long-term treatment with ...": the publication and its date, a link to the
quoted passage on the article page (`/article?q=s24,s25,r3#s24`, the quoted sentences
highlighted) where the channel can show links, and each reference the passage cites.

Built from an answer's citations alone (the unit ids it quotes), so every channel can
rebuild it from what travels with the reply: the plain text goes into the reply's
`{source}` (REST, the terminal chat, Slack without a public address); the web widget
and Slack with `LDN_PUBLIC_URL` swap it for the linked form (`linked_source`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from ldn_bot.knowledge.article import Article

ARTICLE_PATH = "/article"
PUBLISHER = "Medical News Today"
PASSAGE_LABEL = "read the passage"
REFERENCES_LABEL = "see the references"
SEPARATOR = " · "


@dataclass(frozen=True)
class Source:
    """Where an answer comes from.

    Attributes:
        publication: publisher and date ("Medical News Today, 12 June 2019").
        marked: the sentence and reference ids the article page highlights, in order.
        cited: the text of each reference the answer cites.
    """

    publication: str
    marked: tuple[str, ...]
    cited: tuple[str, ...]

    @property
    def passage_path(self) -> str | None:
        """The article page with the quoted units highlighted, at the first of them
        (a sentence if there is one), or None when the answer quotes no unit."""
        if not self.marked:
            return None
        anchor = next((unit for unit in self.marked if unit.startswith("s")), self.marked[0])
        return f"{ARTICLE_PATH}?q={quote(','.join(self.marked), safe=',')}#{anchor}"

    @property
    def link_label(self) -> str:
        """The link's words: the passage when a sentence is quoted, else the references."""
        return PASSAGE_LABEL if any(u.startswith("s") for u in self.marked) else REFERENCES_LABEL

    def plain(self) -> str:
        """The source line without a link."""
        return self.render()

    def render(
        self,
        *,
        link: Callable[[str, str], str] | None = None,
        base_url: str = "",
        escape: Callable[[str], str] = lambda text: text,
    ) -> str:
        """The source line, with `link(url, label)` to the passage when given (`url` is
        `base_url` + the passage path) and every article text through `escape`."""
        line = escape(self.publication)
        path = self.passage_path
        if link is not None and path is not None:
            line += SEPARATOR + link(base_url.rstrip("/") + path, self.link_label)
        if self.cited:
            line += ". " + escape("Cited: " + " ".join(self.cited))
        return line


def source_of(article: Article, citations: Iterable[str]) -> Source:
    """The source of an answer quoting `citations` (`s..`, `r..`, `citation`); ids the
    article does not have are left out."""
    sentences = {sentence.id for sentence in article.sentences}
    references = {reference.id: reference.text for reference in article.references}
    marked: list[str] = []
    for unit in citations:
        if (unit in sentences or unit in references) and unit not in marked:
            marked.append(unit)
    ordered = [u for u in marked if u.startswith("s")] + [u for u in marked if u.startswith("r")]
    date = article.published
    return Source(
        publication=f"{PUBLISHER}, {date}" if date else PUBLISHER,
        marked=tuple(ordered),
        cited=tuple(references[u] for u in ordered if u.startswith("r")),
    )


def linked_source(
    text: str,
    article: Article,
    citations: Iterable[str],
    *,
    link: Callable[[str, str], str],
    base_url: str = "",
    escape: Callable[[str], str] = lambda text: text,
) -> str | None:
    """`text` (a reply ending with the plain source line of `citations`) with that line
    in its linked form and the rest through `escape`, or None when `text` does not end
    with it (the reply was replaced, by the output guard for one): then the caller sends
    `text` as it always does."""
    source = source_of(article, citations)
    plain = source.plain()
    if not source.marked or not text.endswith(plain):
        return None
    return escape(text[: len(text) - len(plain)]) + source.render(
        link=link, base_url=base_url, escape=escape
    )
