"""The report as a review tool (issue 14, "from the report to better answers"): down-voted
turns and unanswered questions link to their conversation's transcript with the ledger's
decisions per turn, votes keep their sign, no link points nowhere, and transcripts keep
the privacy rules. Each test reads a real SQLite ledger seeded through `Ledger`
(tests/review_ledger.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from review_ledger import ANN, BEN, seed
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import collect, render_html


def _turn_html(page: str, anchor: str) -> str:
    """The transcript entry (`<li ... id="turn-N">`) of a turn."""
    found = re.search(rf'<li class="[^"]*" id="{anchor}">(.*?)</li>', page, flags=re.S)
    assert found, f"no transcript entry {anchor}"
    return found.group(1)


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_a_down_voted_turn_links_to_its_transcript_with_the_ledgers_decisions(
    review_engine: Engine,
) -> None:
    data = collect(review_engine)
    page = render_html(data)

    voted = {vote.ref.anchor for vote in data.down_votes if vote.ref}
    assert len(voted) == 2
    table = re.search(r'<table class="down-votes stack">(.*?)</table>', page, flags=re.S)
    assert table is not None
    links = set(re.findall(r'href="#(turn-\d+)"', table.group(1)))
    assert links == voted
    referral = next(v for v in data.down_votes if v.route == "doctor_referral")
    assert referral.ref is not None
    entry = _text(_turn_html(page, referral.ref.anchor))
    assert "How many milligrams would suit me?" in entry
    assert "Route doctor_referral" in entry
    assert "asks how much to take" in entry and "dosing.how_much" in entry  # label and id
    assert "Intent ask_dosing (0.88)" in entry
    assert "Decided by the message alone (message)" in entry
    assert "Votes −1" in entry
    # the turn sits in its conversation, with the turns before and after it
    article = re.search(
        rf'<article class="transcript" id="([^"]+)"[^>]*>'
        rf'(?:(?!</article>).)*id="{referral.ref.anchor}"',
        page,
        flags=re.S,
    )
    assert article and article.group(1) == referral.ref.conversation
    insisting = next(t for tr in data.transcripts for t in tr.turns if t.guard_rule == "context")
    entry = _text(_turn_html(page, insisting.anchor))
    assert "still asking within the dose context of an earlier referral" in entry
    assert "Decided by the dose context of an earlier referral (context)" in entry
    assert "Context dosing" in entry


def test_votes_keep_their_sign_in_transcripts_and_tables(review_engine: Engine) -> None:
    data = collect(review_engine)
    votes = {t.text: t.votes for tr in data.transcripts for t in tr.turns if t.votes}

    assert votes == {
        "How does naltrexone act on the immune system?": (1,),
        "How many milligrams would suit me?": (-1,),
        "is ldn vegan friendly": (-1,),
    }
    assert (data.votes_up, data.votes_down, data.votes_net) == (1, 2, -1)
    page = render_html(data)
    assert "+1 −2 (net −1)" in page  # the key figure
    assert '<span class="vote-up">+1</span>' in page and '<span class="vote-down">−1</span>' in page


def test_every_unanswered_question_and_failure_links_to_a_turn_in_the_page(
    review_engine: Engine,
) -> None:
    data = collect(review_engine)
    page = render_html(data)
    ids = set(re.findall(r'\bid="([^"]+)"', page))

    refs = [ref for item in (*data.questions, *data.failures) for ref in item.refs]
    assert len(refs) == 8  # every unanswered turn with text, and every failure
    for ref in refs:
        assert ref.anchor in ids and ref.conversation in ids
        assert f'href="#{ref.anchor}"' in page
    repeated = next(q for q in data.questions if q.count == 2)
    assert [ref.turn_id for ref in repeated.refs] == sorted(
        (ref.turn_id for ref in repeated.refs), reverse=True
    )  # latest first


def test_no_link_points_nowhere_when_transcripts_are_capped(
    review_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldn_bot.ledger.report import transcripts

    monkeypatch.setattr(transcripts, "TRANSCRIPTS_SHOWN", 1)
    data = collect(review_engine)
    page = render_html(data)

    assert len(data.transcripts) == 1
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and set(links) <= ids


def test_transcripts_keep_the_privacy_rules(tmp_path: Path) -> None:
    """No sender id in the page (a prefix of the salted hash names a conversation), and a
    text the ledger does not keep (and the conversation store no longer has) is not shown."""
    engine = seed(tmp_path / "no-text.db", store_text=False)
    try:
        data = collect(engine)
    finally:
        engine.dispose()
    page = render_html(data)

    assert ANN not in page and BEN not in page
    assert "(text not kept)" in page
    assert "milligrams" not in page
    assert all(re.fullmatch(r"[0-9a-f]{12}", tr.sender) for tr in data.transcripts)
    assert data.unanswered_without_text == 5 and data.questions == ()
