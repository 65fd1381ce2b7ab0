"""The article page (`/article`) and the source line an answer links to it with."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from markupsafe import escape

from ldn_bot.article_page import article_page, marked_units
from ldn_bot.knowledge.article import Article, Reference, Sentence, load_article
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.knowledge.sources import linked_source, source_of
from ldn_bot.settings import Settings

MARKED = re.compile(r'<mark id="(s[0-9]+)" class="sentence">')


@pytest.fixture(scope="module")
def article(cfg: Settings) -> Article:
    return load_article(cfg.article_path)


def _markdown_link(url: str, label: str) -> str:
    return f"[{label}]({url})"


# ---------------------------------------------------------------- the page --


def test_every_sentence_and_reference_has_an_anchor_in_reading_order(article: Article) -> None:
    page = article_page(article)
    ids = re.findall(r'<(?:span|mark) id="(s[0-9]+)" class="sentence">', page)
    assert ids == [sentence.id for sentence in article.sentences]
    for sentence in article.sentences:
        assert f'id="{sentence.id}" class="sentence">{escape(sentence.text)}<' in page
    assert re.findall(r'<li id="(r[0-9]+)">', page) == ["r1", "r2", "r3", "r4", "r5"]


def test_the_page_names_title_author_publisher_date_and_the_original_address(
    article: Article,
) -> None:
    page = article_page(article)
    assert "<h1>Can naltrexone help with multiple sclerosis (MS)?</h1>" in page
    assert "J. Fletcher" in page and "Medical News Today" in page and "12 June 2019" in page
    assert 'href="https://www.medicalnewstoday.com/articles/325455.php"' in page
    assert '<html lang="en">' in page and "<main" in page and "<header" in page
    assert "<footer" in page


def test_the_page_loads_nothing_from_another_site(article: Article) -> None:
    page = article_page(article, marked=frozenset({"s11"}))
    assert re.findall(r'(?:src|href)="(/[^"]*)"', page) and not re.search(r'src="https?:', page)
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert stylesheets == ["/static/app.css"]
    assert "<script" not in page


def test_given_ids_are_highlighted_and_no_others(article: Article) -> None:
    page = article_page(article, marked=marked_units(article, ["s11,s12"]))
    assert MARKED.findall(page) == ["s11", "s12"]
    assert "the 2 sentences the assistant quoted" in page


def test_a_cited_reference_is_highlighted_with_its_sentences(article: Article) -> None:
    page = article_page(article, marked=marked_units(article, ["s21,r5"]))
    assert MARKED.findall(page) == ["s21"]
    assert re.search(r'<li id="r5"><mark class="reference">Raknes', page)


def test_unknown_ids_in_the_query_are_ignored(article: Article) -> None:
    assert marked_units(article, ["s11,s99,r9,s011,S12, s12 ,x"]) == {"s11", "s12"}
    assert marked_units(article, ["s11", "s13"]) == {"s11", "s13"}  # q given twice


@pytest.mark.parametrize(
    "query",
    ["", ",,,", "<script>alert(1)</script>", "s11" + ",s11" * 600, "%00", "s1\x00", "ß,𝔰11"],
)
def test_a_bad_query_gives_the_plain_article(article: Article, query: str) -> None:
    marked = marked_units(article, [query])
    assert marked <= {"s11"}
    page = article_page(article, marked=marked)
    assert "<script>" not in page and "alert(1)" not in page


def test_a_query_longer_than_any_real_one_marks_nothing(article: Article) -> None:
    assert marked_units(article, ["s11" + ",s11" * 600]) == frozenset()


def test_the_plain_page_has_no_highlight_and_skips_to_the_article(article: Article) -> None:
    page = article_page(article)
    assert "<mark" not in page and 'href="#article-text"' in page


def test_article_text_is_escaped(article: Article) -> None:
    hostile = replace(
        article,
        title='<script>alert("t")</script>',
        url='javascript:alert(1)" onmouseover="x',
        sentences=(Sentence("s01", "<img src=x onerror=alert(1)> & more"),),
        paragraphs=(("s01",),),
        references=(Reference("r1", "<b>bold</b>", 'https://e.org/"><script>'),),
        citation="<i>cite</i>",
    )
    page = article_page(hostile, marked=frozenset({"s01"}))
    for raw in ("<script>", "<img", "<b>", "<i>", '" onmouseover="', '"><script'):
        assert raw not in page, raw
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in page


def test_sentences_are_grouped_into_the_articles_paragraphs(article: Article) -> None:
    flat = [unit for paragraph in article.paragraphs for unit in paragraph]
    assert flat == [sentence.id for sentence in article.sentences]
    assert article.paragraphs[0] == ("s01", "s02", "s03")
    assert ("s42", "s43") in article.paragraphs


# --------------------------------------------------------- the source line --


def test_the_source_line_names_publisher_and_date_not_sentence_ids(kb: KnowledgeBase) -> None:
    answer = kb.answer("off_label")
    assert answer is not None
    assert answer.source == "Medical News Today, 12 June 2019"
    assert not re.search(r"\bs[0-9]{2}\b", answer.source)


def test_the_source_line_cites_the_study_with_author_year_and_title(kb: KnowledgeBase) -> None:
    answer = kb.answer("study_longterm")
    assert answer is not None and "r3" in answer.citations
    assert answer.source == (
        "Medical News Today, 12 June 2019. Cited: Ludwig, M. D., et al. (2016). Long-term "
        "treatment with low dose naltrexone maintains stable health in patients with "
        "multiple sclerosis."
    )


def test_the_passage_link_highlights_the_quoted_sentences_and_cited_studies(
    article: Article,
) -> None:
    source = source_of(article, ["s24", "s25", "r3", "s26", "citation", "s99"])
    assert source.passage_path == "/article?q=s24,s25,s26,r3#s24"
    assert source.render(link=_markdown_link, base_url="https://bot.example/") == (
        "Medical News Today, 12 June 2019 · [read the passage]"
        "(https://bot.example/article?q=s24,s25,s26,r3#s24). Cited: Ludwig, M. D., et al. "
        "(2016). Long-term treatment with low dose naltrexone maintains stable health in "
        "patients with multiple sclerosis."
    )


def test_an_answer_quoting_only_references_links_to_them(article: Article) -> None:
    source = source_of(article, ["citation", "r1", "r2"])
    assert source.passage_path == "/article?q=r1,r2#r1"
    assert "see the references" in source.render(link=_markdown_link)


def test_the_linked_line_replaces_the_plain_one_at_the_end_of_the_reply(
    kb: KnowledgeBase,
) -> None:
    answer = kb.answer("off_label")
    assert answer is not None
    reply = f"{answer.text}\n\n📄 Source: {answer.source}"
    linked = linked_source(reply, kb.article, answer.citations, link=_markdown_link)
    assert linked == (
        f"{answer.text}\n\n📄 Source: Medical News Today, 12 June 2019 · "
        "[read the passage](/article?q=s11,s12#s11)"
    )


def test_a_reply_without_the_plain_source_line_is_not_linked(kb: KnowledgeBase) -> None:
    answer = kb.answer("off_label")
    assert answer is not None
    replaced = "I can't help with dosing: please ask your doctor."
    assert linked_source(replaced, kb.article, answer.citations, link=_markdown_link) is None
