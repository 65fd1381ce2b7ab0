"""Running the sets end to end through the assistant, and naming the topic of an answer.

Each dialogue gets a fresh sender id (its own conversation); its turns are asked
in order, and up to `concurrency` dialogues run at once (as `ldn-bot ask` does).
The runner only needs an `ask(text, sender_id)` coroutine, so the tests can also
drive it without a model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from ldn_bot.assistant import Runtime
from ldn_bot.evaluation.metrics import Outcome
from ldn_bot.evaluation.sets import Dialogue, EvalSet
from ldn_bot.knowledge.base import Topic, knowledge_base
from ldn_bot.settings import Settings


class Reply(Protocol):
    """What the runner reads of an assistant turn (`ldn_bot.assistant.TurnResult`)."""

    @property
    def route(self) -> str:
        """The route the turn took."""

    @property
    def intent(self) -> str | None:
        """The NLU's intent, if any."""

    @property
    def confidence(self) -> float | None:
        """The NLU's confidence in the intent, if any."""

    @property
    def citations(self) -> list[str]:
        """The citations of the replies."""

    @property
    def replies(self) -> list[str]:
        """The texts sent back."""

    @property
    def guard_rule(self) -> str | None:
        """The guard rule that decided, if one did."""

    @property
    def guard_source(self) -> str | None:
        """What decided the guard's verdict: message, window or context."""


Ask = Callable[[str, str], Awaitable[Reply]]
Progress = Callable[[int], None]


def _decided_by(reply: Reply) -> str | None:
    if reply.guard_rule is None:
        return None
    return f"{reply.guard_source or 'message'}:{reply.guard_rule}"


def topic_of(citations: Sequence[str], topics: Mapping[str, Topic]) -> str | None:
    """The topic an article answer came from, read off its citations.

    An answer cites its topic's `units` in order (then the references); a "tell me
    more" cites the topic's `more`. The topic whose units (then whose `more`) the
    citations start with wins; failing that, the one whose units overlap most.
    """
    if not citations:
        return None
    cited = tuple(citations)
    for field in ("units", "more"):
        for topic in topics.values():
            units = getattr(topic, field)
            if units and cited[: len(units)] == units:
                return topic.id
    overlap = {tid: len(set(t.units) & set(cited)) for tid, t in topics.items()}
    best = max(overlap, key=lambda tid: overlap[tid], default=None)
    return best if best is not None and overlap[best] else None


async def run_dialogues(
    ask: Ask,
    dialogues: Sequence[Dialogue],
    topics: Mapping[str, Topic],
    *,
    concurrency: int = 4,
    progress: Progress = lambda _done: None,
) -> list[list[Outcome]]:
    """Every dialogue in its own fresh session; outcomes in the input's order."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(dialogue: Dialogue) -> list[Outcome]:
        nonlocal done
        sender = f"eval-{uuid.uuid4().hex}"
        outcomes = []
        async with gate:
            for number, turn in enumerate(dialogue.turns, 1):
                reply = await ask(turn.text, sender)
                citations = tuple(reply.citations)
                outcomes.append(
                    Outcome(
                        dialogue=dialogue.id,
                        number=number,
                        turn=turn,
                        route=reply.route,
                        intent=reply.intent,
                        confidence=reply.confidence,
                        topic=topic_of(citations, topics)
                        if reply.route == "article_answer"
                        else None,
                        citations=citations,
                        replies=tuple(reply.replies),
                        guard=_decided_by(reply),
                    )
                )
        done += 1
        progress(done)
        return outcomes

    return list(await asyncio.gather(*(one(dialogue) for dialogue in dialogues)))


def run_sets(
    cfg: Settings,
    sets: Sequence[EvalSet],
    *,
    runtime: Runtime,
    concurrency: int = 4,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict[str, list[list[Outcome]]]:
    """Every set through one in-process assistant (trained first if needed).

    The assistant runs on a throw-away var dir with the SQLite store, whatever
    `LDN_BOT_VAR` / `LDN_BOT_DATABASE_URL` say: the evaluation never writes into
    the user's conversations or ledger.
    """
    topics = knowledge_base(cfg.article_path).topics
    dialogues = [dialogue for eval_set in sets for dialogue in eval_set.dialogues]
    step = max(len(dialogues) // 8, 1)

    def tick(done: int) -> None:
        if done % step == 0 or done == len(dialogues):
            progress(f"{done}/{len(dialogues)} dialogues")

    with tempfile.TemporaryDirectory(prefix="ldn-bot-eval-") as tmp:
        isolated = dataclasses.replace(cfg, var_dir=Path(tmp), database_url=None, redis_url=None)
        with runtime.running_assistant(isolated, progress) as (assistant, loop):
            outcomes = loop.run_until_complete(
                run_dialogues(
                    assistant.ask, dialogues, topics, concurrency=concurrency, progress=tick
                )
            )
    results: dict[str, list[list[Outcome]]] = {}
    start = 0
    for eval_set in sets:
        results[eval_set.name] = outcomes[start : start + len(eval_set.dialogues)]
        start += len(eval_set.dialogues)
    return results
