"""What the web widget gets for each reply: one bubble per reply, as Markdown.

rasa-webchat renders a bot message's text as Markdown (raw HTML shown as text) and
one message per bubble; Rasa's socket.io channel split every reply on blank lines, so an
article answer and its source came as two bubbles, each with its own thumbs. Here:

- a reply is one bubble (its paragraphs stay paragraphs inside it);
- an article answer's text is escaped for Markdown, so article text never turns into a
  list, a heading or a link; its one link is "read the passage", built from its citations
  (`ldn_bot.knowledge.sources`) to this server's own article page (the other replies are
  the domain's own wording, sent as they always were);
- the bubble that takes the turn's vote (the first reply of a turn that answers or
  refers, never small talk, the disclaimer, the emergency message or a note after an
  answer) carries the class `VOTE_CLASS`, which the widget puts thumbs under.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ldn_bot.knowledge.article import Article
from ldn_bot.knowledge.sources import linked_source
from ldn_bot.routing import RESPONSE_ROUTE, Route

ARTICLE_ANSWER = "utter_article_answer"
VOTE_CLASS = "ldn-votable"
# Replies a vote is about: answers and referrals (the scope and language replies are
# referrals too). Not small talk, the fallback, the disclaimer or the emergency message.
VOTED_ROUTES = frozenset(
    {Route.ARTICLE_ANSWER, Route.DOCTOR_REFERRAL, Route.OUT_OF_SCOPE, Route.LANGUAGE}
)
# Sent only after an answer, in the same turn: that answer takes the vote.
NOTES = frozenset({"utter_missing_side_effects_list", "utter_missing_contraindications_list"})
# What rasa-webchat's Markdown parser (remark, with its backslash escapes) would read as
# syntax; raw HTML is shown as text by the widget already.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!>~|])")


def escape_markdown(text: str) -> str:
    """`text` shown as it is by a Markdown renderer (blank lines stay paragraph breaks)."""
    return _MARKDOWN.sub(r"\\\1", text)


def markdown_link(url: str, label: str) -> str:
    """A Markdown link; `url` and `label` are ours (a path and a fixed label)."""
    return f"[{escape_markdown(label)}]({url})"


def votable(response: Any) -> bool:
    """Whether a reply is one a person can vote on (answers and referrals)."""
    return (
        isinstance(response, str)
        and response not in NOTES
        and RESPONSE_ROUTE.get(response) in VOTED_ROUTES
    )


def bubble_text(
    text: str, *, response: Any, citations: Iterable[str] | None, article: Article
) -> str:
    """A reply's text as the widget's Markdown. An article answer's (article text) is
    escaped, its source line linking to the quoted passage on this server's article page;
    every other reply is the domain's own wording, sent as it always was."""
    if response != ARTICLE_ANSWER:
        return text
    if citations:
        units = [unit for unit in citations if isinstance(unit, str)]
        linked = linked_source(text, article, units, link=markdown_link, escape=escape_markdown)
        if linked is not None:
            return linked
    return escape_markdown(text)
