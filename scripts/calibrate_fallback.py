"""Choose the NLU fallback bars (config.yml) from held-out predictions.

    PYTHONPATH=src:. .venv/bin/python scripts/calibrate_fallback.py [--folds 5]

Held-out predictions of the intent classifier alone (the pipeline of config.yml up to
the logistic regression, no fallback, no scope or guard step):

- k-fold over data/nlu.yml: each example predicted by a model trained without it;
- the blind sets' harmless turns, predicted by a model trained on all of data/nlu.yml:
  tests/data/article_questions.yml (the topic's intent is right) and the turns of
  tests/data/conversations.yml that expect only an article answer with a topic, or only
  small talk (any small-talk intent is right).

Messages the invitation step answers (`ldn_bot.knowledge.invitation`) never reach the
fallback's decision and are left out, as are predictions of a safety intent (their bar
stays where it was: `ldn_bot.confidence`). For each bar it prints, per kind of intent
(small talk, everything else), how many predictions at or above it are right and wrong,
and the bar that maximises right - cost * wrong (cost 1 for topics: fall back when a
prediction is more likely wrong than right; cost 2 for small talk: a wrong "Goodbye" or
help menu ignores the question, the fallback at least lists topics).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SMALL_TALK_COST = 2.0
TOPIC_COST = 1.0


def _nlu_config(path: Path) -> Path:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    pipeline: list[dict[str, Any]] = []
    for step in config["pipeline"]:
        pipeline.append(step)
        if step["name"].endswith("LogisticRegressionClassifier"):
            break
    out = {**config, "pipeline": pipeline, "policies": []}
    path.write_text(yaml.safe_dump(out), encoding="utf-8")
    return path


def _train(config: Path, examples: list[tuple[str, str]], out: Path) -> Any:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData([Message(data={"text": t, "intent": i}) for t, i in examples])
    nlu_file = out / "nlu.yml"
    nlu_file.write_text(data.nlu_as_yaml(), encoding="utf-8")
    model = train_nlu(str(config), str(nlu_file), str(out), fixed_model_name="fold")
    return Agent.load(model)


def _predict(agent: Any, texts: list[str]) -> list[tuple[str | None, float]]:
    async def run() -> list[tuple[str | None, float]]:
        results = []
        for text in texts:
            parsed = await agent.parse_message(text)
            intent = parsed.get("intent") or {}
            results.append((intent.get("name"), float(intent.get("confidence") or 0.0)))
        return results

    return asyncio.run(run())


def _training_examples() -> list[tuple[str, str]]:
    raw = yaml.safe_load((ROOT / "data/nlu.yml").read_text(encoding="utf-8"))
    return [
        (line.strip()[2:], block["intent"])
        for block in raw["nlu"]
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


def _blind_turns(
    intent_of: dict[str, str], small_talk: frozenset[str]
) -> list[tuple[str, frozenset[str]]]:
    turns: list[tuple[str, frozenset[str]]] = []
    articles = yaml.safe_load((ROOT / "tests/data/article_questions.yml").read_text("utf-8"))
    for q in articles["questions"]:
        topics = q["topic"] if isinstance(q["topic"], list) else [q["topic"]]
        turns.append((q["text"], frozenset(intent_of[t] for t in topics)))
    conversations = yaml.safe_load((ROOT / "tests/data/conversations.yml").read_text("utf-8"))
    for conversation in conversations["conversations"]:
        for turn in conversation["turns"]:
            expect = turn["expect"]
            if expect == "smalltalk":
                turns.append((turn["user"], small_talk))
            elif expect == "article_answer" and turn.get("topic"):
                topics = turn["topic"] if isinstance(turn["topic"], list) else [turn["topic"]]
                turns.append((turn["user"], frozenset(intent_of[t] for t in topics)))
    return turns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    from ldn_bot.confidence import SAFETY_INTENTS, SMALL_TALK_INTENTS
    from ldn_bot.knowledge.base import knowledge_base
    from ldn_bot.knowledge.invitation import invited_topic
    from ldn_bot.settings import settings

    kb = knowledge_base(settings().article_path)
    intent_of = {topic.id: topic.intent for topic in kb.topics.values()}
    examples = _training_examples()
    blind = _blind_turns(intent_of, SMALL_TALK_INTENTS)
    rows: list[tuple[str, frozenset[str], str | None, float]] = []  # text, right, got, conf
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = _nlu_config(tmp / "config.yml")
        shuffled = examples[:]
        random.Random(2019).shuffle(shuffled)
        by_intent: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for example in shuffled:
            by_intent[example[1]].append(example)
        folds: list[list[tuple[str, str]]] = [[] for _ in range(args.folds)]
        for group in by_intent.values():  # stratified
            for i, example in enumerate(group):
                folds[i % args.folds].append(example)
        for k, test in enumerate(folds):
            train = [e for j, fold in enumerate(folds) if j != k for e in fold]
            out = tmp / f"fold{k}"
            out.mkdir()
            agent = _train(config, train, out)
            for (text, intent), (got, conf) in zip(
                test, _predict(agent, [t for t, _ in test]), strict=True
            ):
                rows.append((text, frozenset({intent}), got, conf))
            print(f"fold {k + 1}/{args.folds} done", file=sys.stderr)
        out = tmp / "all"
        out.mkdir()
        agent = _train(config, examples, out)
        for (text, right), (got, conf) in zip(
            blind, _predict(agent, [t for t, _ in blind]), strict=True
        ):
            rows.append((text, right, got, conf))

    invited = {text for text, _ in blind if invited_topic(kb, text)} | {
        text for text, _ in examples if invited_topic(kb, text)
    }
    print(f"{len(invited)} invitation messages left out", file=sys.stderr)
    _report(rows, invited, SMALL_TALK_INTENTS, SAFETY_INTENTS)
    return 0


def _report(
    rows: list[tuple[str, frozenset[str], str | None, float]],
    invited: set[str],
    small_talk: frozenset[str],
    safety: frozenset[str],
) -> None:
    kinds: dict[str, list[tuple[bool, float]]] = {"small talk": [], "topics and scope": []}
    for text, right, got, conf in rows:
        if got is None or got in safety or text in invited:
            continue
        kind = "small talk" if got in small_talk else "topics and scope"
        kinds[kind].append((got in right, conf))
    for kind, preds in kinds.items():
        cost = SMALL_TALK_COST if kind == "small talk" else TOPIC_COST
        print(f"\n{kind}: {len(preds)} held-out predictions; score = right - {cost:g} * wrong")
        print("bar   right  wrong  score")
        best = (float("-inf"), 0.0)
        for step in range(0, 20):
            bar = step / 20
            right = sum(1 for ok, conf in preds if ok and conf >= bar)
            wrong = sum(1 for ok, conf in preds if not ok and conf >= bar)
            score = right - cost * wrong
            best = max(best, (score, -bar))
            print(f"{bar:.2f}  {right:5d}  {wrong:5d}  {score:6.1f}")
        print(f"best bar for {kind}: {-best[1]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
