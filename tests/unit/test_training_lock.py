"""Two processes that need the model at once train it once (`ensure_model`'s lock).

What broke: two servers started together, or two test workers, both found no model and
both ran Rasa's training into the same file. Training itself is replaced by a stand-in
that takes a while and counts its runs; the lock is the real one, in separate processes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from pathlib import Path

from ldn_bot.settings import Settings
from rasa_project import training


def _slow_training(cfg: Settings, path: Path, progress: object) -> Path:
    with (cfg.models_dir / "runs").open("a") as runs:
        runs.write("trained\n")
    time.sleep(1.0)
    path.write_bytes(b"model")
    return path


def _need_the_model(cfg: Settings, results: multiprocessing.Queue) -> None:
    training._train = _slow_training  # the stand-in, in this process only
    results.put(str(training.ensure_model(cfg)))


def test_two_processes_needing_the_model_train_it_once(cfg: Settings, tmp_path: Path) -> None:
    mine = dataclasses.replace(cfg, models_dir=tmp_path / "models")
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = context.Queue()
    workers = [context.Process(target=_need_the_model, args=(mine, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    paths = {results.get(timeout=5) for _ in workers}
    assert paths == {str(training.model_path(mine))}
    assert (mine.models_dir / "runs").read_text() == "trained\n"


def test_a_model_already_there_is_reused_without_the_lock(cfg: Settings, tmp_path: Path) -> None:
    mine = dataclasses.replace(cfg, models_dir=tmp_path / "models")
    path = training.model_path(mine)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"model")
    assert training.ensure_model(mine) == path
    assert not (mine.models_dir / ".training.lock").exists()
