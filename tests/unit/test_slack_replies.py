"""Slack replies going out: the answer as blocks, its citation as a context line (linked
to the quoted passage when the bot has a public address) and buttons as an actions block."""

from __future__ import annotations

from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.slack import linked_citation, slack_message


def test_an_answer_has_its_citation_as_a_compact_context_line() -> None:
    message = slack_message("LDN is <b>a drug</b> & more.\n\n📄 Source: MNT 2019; sentences s08")
    section, context = message["blocks"]
    assert section == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": ("LDN is &lt;b&gt;a drug&lt;/b&gt; &amp; more.")},
    }
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == "📄 _MNT 2019; sentences s08_"
    assert "<" not in message["text"]


def _answer_reply(kb: KnowledgeBase, topic: str) -> tuple[str, list[str]]:
    answer = kb.answer(topic)
    assert answer is not None
    return f"{answer.text}\n\n📄 Source: {answer.source}", list(answer.citations)


def test_with_a_public_address_the_source_links_to_the_quoted_passage(
    kb: KnowledgeBase,
) -> None:
    text, citations = _answer_reply(kb, "study_longterm")
    linked = linked_citation(
        text, article=kb.article, citations=citations, public_url="https://bot.example"
    )
    message = slack_message(text, linked=linked)
    context = [block for block in message["blocks"] if block["type"] == "context"]
    assert context[0]["elements"][0]["text"] == (
        "📄 _Medical News Today, 12 June 2019 · <https://bot.example/article?q=s24,s25,s26,r3#s24"
        "|read the passage>. Cited: Ludwig, M. D., et al. (2016). Long-term treatment with "
        "low dose naltrexone maintains stable health in patients with multiple sclerosis._"
    )
    assert "<" not in message["text"]  # the notification text stays plain


def test_without_a_public_address_the_source_line_is_plain_text(kb: KnowledgeBase) -> None:
    text, citations = _answer_reply(kb, "off_label")
    linked = linked_citation(text, article=kb.article, citations=citations, public_url=None)
    assert linked is None
    context = [b for b in slack_message(text, linked=linked)["blocks"] if b["type"] == "context"]
    assert context[0]["elements"][0]["text"] == "📄 _Medical News Today, 12 June 2019_"


def test_a_reply_that_is_not_the_answer_of_its_citations_gets_no_link(kb: KnowledgeBase) -> None:
    _, citations = _answer_reply(kb, "off_label")
    other = "Please ask your doctor.\n\n📄 Source: somewhere else"
    assert (
        linked_citation(other, article=kb.article, citations=citations, public_url="https://b.ex")
        is None
    )


def test_buttons_become_an_actions_block() -> None:
    message = slack_message("Hi", [{"title": "Sources", "payload": "/ask_sources"}])
    actions = message["blocks"][-1]
    assert actions["type"] == "actions"
    assert actions["elements"][0]["value"] == "/ask_sources"
