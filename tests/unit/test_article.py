"""Knowledge: the article is split with stable ids, and every answer is grounded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ldn_bot.answering import lemmas
from ldn_bot.knowledge.article import load_article, squash
from ldn_bot.knowledge.base import CITATION_UNIT, ELISION, KnowledgeBase
from ldn_bot.settings import Settings

ARTICLE_QUESTIONS = Path(__file__).parents[1] / "data" / "article_questions.yml"


def _source(cfg: Settings) -> str:
    """The source article as shipped in shared/, whitespace-normalised like the sentences."""
    seed = cfg.root.parent / "shared" / "seed" / "article.txt"
    raw = seed.read_text(encoding="utf-8") if seed.exists() else cfg.article_path.read_text("utf-8")
    return squash(raw.replace("&amp;", "&"))


def test_project_copy_is_the_seed_article(cfg: Settings) -> None:
    seed = cfg.root.parent / "shared" / "seed" / "article.txt"
    if seed.exists():  # CI and developers have shared/ beside the repo
        assert cfg.article_path.read_bytes() == seed.read_bytes()
    assert "Fletcher" in cfg.article_path.read_text("utf-8")


def test_sentence_ids_are_stable(cfg: Settings) -> None:
    article = load_article(cfg.article_path)
    assert len(article.sentences) == 46
    assert article.sentence("s01").text.startswith("Multiple sclerosis (MS) is a disease")
    assert article.sentence("s08").text.startswith("The Food and Drug Administration (FDA)")
    assert article.sentence("s42").text == (
        "People should also avoid splitting higher dose pills on their own."
    )
    assert [r.id for r in article.references] == ["r1", "r2", "r3", "r4", "r5"]
    assert article.reference("r5").text.startswith("Raknes, G., & Småbrekke, L. (2017).")


def test_article_version_is_a_content_hash(cfg: Settings) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", load_article(cfg.article_path).version)


def test_every_unit_any_answer_can_contain_occurs_verbatim_in_the_source(
    cfg: Settings, kb: KnowledgeBase
) -> None:
    source = _source(cfg)
    units = {u for t in kb.topics.values() for u in (*t.units, *t.more, *t.references)}
    for unit in units:
        assert kb.unit_text(unit) in source, unit
    questions = [
        q["text"] for q in yaml.safe_load(ARTICLE_QUESTIONS.read_text("utf-8"))["questions"]
    ]
    possible = set(kb.possible_answers())
    for topic in kb.topics.values():
        answers = [kb.answer(topic.id, question=lemmas(q), lemmatize=lemmas) for q in questions]
        assert all(a in possible for a in answers if a)  # the reply contract
        answers += [a for a in possible if a.topic == topic.id]
        for answer in filter(None, answers):
            for sentence in re.split(r"(?<=[.?!:])\s+(?=[A-Z…])", answer.text):
                assert sentence.removeprefix(ELISION) in source, (topic.id, sentence)


def test_quotes_in_domain_responses_are_verbatim(cfg: Settings) -> None:
    domain = yaml.safe_load(cfg.domain_path.read_text("utf-8"))
    source = _source(cfg)
    quotes = [
        quote
        for variants in domain["responses"].values()
        for variant in variants
        for quote in re.findall(r'"([^"]{40,})"', variant.get("text", ""))
    ]
    assert quotes, "the pill-splitting referral quotes the article"
    for quote in quotes:
        assert quote in source


def test_answers_carry_citations_and_study_references(kb: KnowledgeBase) -> None:
    answer = kb.answer("study_2017")
    assert answer is not None
    assert answer.citations == ("s21", "s22", "s23", "r5")
    assert "Raknes" in answer.source
    assert CITATION_UNIT in kb.topics["sources"].units


def test_lost_lists_are_never_invented(kb: KnowledgeBase) -> None:
    for topic_id, note in [
        ("side_effects", "utter_missing_side_effects_list"),
        ("contraindications", "utter_missing_contraindications_list"),
    ]:
        answer = kb.answer(topic_id)
        assert answer is not None and note in answer.notes


def test_every_topic_intent_is_in_the_domain(cfg: Settings, kb: KnowledgeBase) -> None:
    domain = yaml.safe_load(cfg.domain_path.read_text("utf-8"))
    assert {t.intent for t in kb.topics.values()} <= set(domain["intents"])


def test_keyword_matching_picks_a_clear_winner_or_nothing(kb: KnowledgeBase) -> None:
    topic = kb.best_topic(["thrombocytopenia", "platelet", "what"])
    assert topic is not None and topic.id == "thrombocytopenia"
    assert kb.best_topic(["banana"]) is None


def test_the_side_effects_answer_opens_with_the_articles_safety_summary(kb: KnowledgeBase) -> None:
    answer = kb.answer("side_effects")
    assert answer is not None
    assert answer.text.startswith("Low-dose naltrexone appears to be generally safe")
    assert "Research has not shown serious side effects." in answer.text
    assert "below" not in answer.text  # no pointer at a list the chat does not show


def test_a_connective_whose_sentence_before_is_not_quoted_is_elided(kb: KnowledgeBase) -> None:
    answer = kb.answer("study_2017")
    assert answer is not None
    assert answer.text.startswith("…a study published in 2017")  # "For example," dropped
    assert "This would suggest that naltrexone was working. However, the study found" in (
        answer.text
    )  # the sentence before is quoted: the connective stays


@pytest.mark.parametrize("more", [False, True])
def test_no_answer_opens_with_a_dangling_connective_or_pronoun(
    kb: KnowledgeBase, more: bool
) -> None:
    for topic in kb.topics.values():
        answer = kb.answer(topic.id, more=more)
        if answer is None:
            continue
        assert not answer.text.startswith(
            ("However", "For example", "Finally", "Still", "Specifically", "Instead", "They ")
        ), topic.id
        assert "They found" not in answer.text or "Researchers found" in answer.text, topic.id


def _asked(kb: KnowledgeBase, topic: str, question: str) -> tuple[str, ...]:
    answer = kb.answer(topic, question=lemmas(question), lemmatize=lemmas)
    assert answer is not None
    return tuple(c for c in answer.citations if c.startswith("s"))


def test_a_question_adds_the_topics_sentence_that_names_what_it_asks(kb: KnowledgeBase) -> None:
    assert _asked(kb, "side_effects", "does it make you bleed?") == (
        *kb.topics["side_effects"].units,
        "s38",  # "...uncontrollable bleeding or increased bruising"
    )
    assert "s44" in _asked(kb, "off_label", "so it isn't proven then")


def test_a_question_the_topics_answer_already_covers_gets_that_answer(kb: KnowledgeBase) -> None:
    for question in ("what are the side effects?", "tell me about side effects", "hmm?"):
        assert _asked(kb, "side_effects", question) == kb.topics["side_effects"].units


def test_an_added_sentence_comes_with_the_sentence_it_needs_before_it(kb: KnowledgeBase) -> None:
    cited = _asked(kb, "effectiveness", "what did the 2017 study find")
    assert "s23" in cited and "s21" in cited  # "the study found" needs "a study published in 2017"
    assert list(cited) == sorted(cited)  # the article's order


def test_a_question_adds_at_most_two_sentences(kb: KnowledgeBase) -> None:
    for topic in kb.topics.values():
        asked = _asked(kb, topic.id, "study bleeding liver doctor inflammation endorphins fda")
        assert len(asked) <= len([u for u in topic.units if u.startswith("s")]) + 2, topic.id


def test_an_added_sentence_never_needs_one_that_is_not_quoted(kb: KnowledgeBase) -> None:
    cited = _asked(kb, "effectiveness", "how long after it do you see results")
    assert "s24" not in cited  # "similar results in another study" needs the 2017 study
