"""The article as a page (`/article`): the project's own copy, every sentence and
reference with an anchor (`#s07`, `#r3`), the quoted ones highlighted.

An answer's source line links here (`ldn_bot.knowledge.sources`): `/article?q=s11,s12#s11`
marks s11 and s12, server-side, so it works without JavaScript. What `q` holds is only
read, never shown: ids the article does not have and anything malformed are ignored, and
the page is the plain article then.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ldn_bot.knowledge.article import Article
from ldn_bot.knowledge.sources import PUBLISHER

TEMPLATES = Path(__file__).with_name("templates")
# More than every unit id of the article, joined by commas; a longer `q` is not ours.
MAX_QUERY_CHARS = 1000


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def marked_units(article: Article, queries: Iterable[str]) -> frozenset[str]:
    """The sentence and reference ids the `q` values name (comma-separated), those the
    article has; anything else is ignored."""
    known = {s.id for s in article.sentences} | {r.id for r in article.references}
    marked: set[str] = set()
    for query in queries:
        if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
            continue
        marked.update(unit.strip() for unit in query.split(",") if unit.strip() in known)
    return frozenset(marked)


def article_page(article: Article, *, marked: frozenset[str] = frozenset()) -> str:
    """The article page's HTML, the `marked` units highlighted."""
    sentences = {sentence.id: sentence for sentence in article.sentences}
    paragraphs = article.paragraphs or tuple((s.id,) for s in article.sentences)
    template = _environment().get_template("article.html")
    return template.render(
        article=article,
        paragraphs=[[sentences[unit] for unit in paragraph] for paragraph in paragraphs],
        marked=marked,
        marked_count=sum(1 for s in article.sentences if s.id in marked),
        marked_references=any(r.id in marked for r in article.references),
        publisher=PUBLISHER,
    )
