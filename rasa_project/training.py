"""The trained model: named by a fingerprint of its inputs, trained only when missing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from ldn_bot.assistant import Progress
from ldn_bot.settings import Settings

# Files whose content decides the trained model: change one and it retrains.
# (Besides every training file of data/.) Globs, relative to the project root.
MODEL_INPUTS = (
    "config.yml",
    "domain.yml",
    "rasa_project/nlu.py",
    "rasa_project/nlu_guard.py",
    "src/ldn_bot/nlp.py",
    "src/ldn_bot/analysis.py",
    "src/ldn_bot/inputs.py",
    "src/ldn_bot/guard/normalize.py",
    "src/ldn_bot/guard/vocabulary.py",
    "src/ldn_bot/guard/rules_yaml.py",
    "src/ldn_bot/guard/rules/*.yml",
    "src/ldn_bot/knowledge/scope.yml",
)


def quiet_rasa(cfg: Settings) -> None:
    """Keep Rasa's and TensorFlow's logs to errors (`LDN_BOT_LOG_LEVEL=DEBUG` shows all),
    and their warnings out of sight unless `cfg.debug` (importing Rasa resets the filters,
    so this runs after Rasa is imported, never at import)."""
    from rasa.utils.log_utils import configure_structlog

    from ldn_bot.logs import log_level

    level = log_level()
    libraries = level if level <= logging.INFO else logging.ERROR
    for name in ("rasa", "tensorflow", "absl", "sanic", "asyncio", "apscheduler"):
        logging.getLogger(name).setLevel(libraries)
    configure_structlog(level)
    if not cfg.debug:
        warnings.simplefilter("ignore")


def model_fingerprint(cfg: Settings) -> str:
    """A short hash of everything training depends on."""
    digest = hashlib.sha256()
    paths = [path for name in MODEL_INPUTS for path in cfg.root.glob(name)]
    paths += cfg.training_files
    for path in sorted(paths):
        digest.update(path.relative_to(cfg.root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_path(cfg: Settings) -> Path:
    """The model file for the current inputs (named by their fingerprint)."""
    return cfg.models_dir / f"ldn-bot-{model_fingerprint(cfg)}.tar.gz"


def ensure_model(cfg: Settings, progress: Progress = lambda _msg: None) -> Path:
    """The trained model for the current data and config, training it if missing.

    Training is reused while the inputs are unchanged (the file name carries
    their fingerprint). Training output goes to stderr, never stdout.
    """
    path = model_path(cfg)
    if path.exists():
        return path
    cfg.models_dir.mkdir(parents=True, exist_ok=True)
    # One training at a time for one project: a second process (two servers started
    # together, parallel test workers) waits for the first and then reuses its model.
    with FileLock(cfg.models_dir / ".training.lock"):
        if path.exists():
            return path
        return _train(cfg, path, progress)


def _train(cfg: Settings, path: Path, progress: Progress) -> Path:
    """Train the model into `path` (the caller holds the training lock)."""
    quiet_rasa(cfg)
    progress("Training the model for the current data and config (about a minute)...")
    from rasa.api import train

    started = time.monotonic()
    # Rasa's own output (its tqdm bars: "Processed rules/trackers/actions", hundreds of
    # updates, and its green "model is trained" line) is kept back: one line of ours
    # says it, and Rasa's is shown only when training fails (or with LDN_BOT_DEBUG).
    verbose = cfg.debug
    captured = io.StringIO()
    with _training_output(verbose, captured):
        result = train(
            domain=str(cfg.domain_path),
            config=str(cfg.config_path),
            training_files=[str(p) for p in cfg.training_files],
            output=str(cfg.models_dir),
            fixed_model_name=path.name.removesuffix(".tar.gz"),
        )
    if result.code != 0 or not path.exists():
        sys.stderr.write(captured.getvalue()[-5000:])
        raise RuntimeError(f"training failed (code {result.code}); run `make train` to see why")
    progress(f"Model trained in {time.monotonic() - started:.0f} s: {path.name}")
    return path


@contextlib.contextmanager
def _training_output(verbose: bool, captured: io.StringIO) -> Iterator[None]:
    """Rasa's training chatter: to stderr when `verbose`, else into `captured`.

    Rasa's tqdm bars are off while its `LOG_LEVEL` says WARNING (`rasa.shared.utils.io.
    is_logging_disabled`, read at each bar), and `TQDM_DISABLE` switches off any other.
    """
    if verbose:
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    saved = {name: os.environ.get(name) for name in ("LOG_LEVEL", "TQDM_DISABLE")}
    os.environ.update(LOG_LEVEL="WARNING", TQDM_DISABLE="1")
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
