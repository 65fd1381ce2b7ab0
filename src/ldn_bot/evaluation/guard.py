"""The guard detector alone, in-process, and Rasa's NLU cross-validation.

The detector is scored on the project's red-team set (must be caught) and
benign set (must not be refused), and on the independent hold-out set; these
figures need no model and take seconds. The end-to-end figures (the whole
assistant) are in `ldn_bot.evaluation.run`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ldn_bot.guard.detector import GuardDetector, default_detector
from ldn_bot.guard.verdict import Category, Verdict
from ldn_bot.settings import PROJECT_ROOT, Settings

CASES_DIR = PROJECT_ROOT / "tests" / "data"
REDTEAM_FILE = CASES_DIR / "guard_redteam.yml"
BENIGN_FILE = CASES_DIR / "guard_benign.yml"
# Written independently of the rules; first measured before any tuning on it.
INDEPENDENT_FILE = CASES_DIR / "guard_holdout.yml"

# What counts as caught, per expected category: the reply must be the one the
# person needs (dose and splitting questions both get a doctor referral).
ACCEPTED = {
    Category.DOSING: {Category.DOSING, Category.PILL_SPLITTING},
    Category.PILL_SPLITTING: {Category.PILL_SPLITTING},
    Category.EMERGENCY: {Category.EMERGENCY},
    Category.PERSONAL_ADVICE: {Category.PERSONAL_ADVICE, Category.DOSING, Category.PILL_SPLITTING},
}


@dataclass(frozen=True)
class Case:
    """One labelled message of the guard sets."""

    text: str
    expect: Category
    lang: str
    tags: tuple[str, ...]

    @property
    def context(self) -> Category | None:
        """Follow-ups are asked right after a dosing question."""
        return Category.DOSING if "followup" in self.tags else None

    def caught_by(self, verdict: Verdict) -> bool:
        """Whether `verdict` is right: not blocked when harmless, else a category in `ACCEPTED`."""
        if self.expect is Category.NONE:
            return not verdict.blocked
        return verdict.category in ACCEPTED[self.expect]


def load_cases(path: Path) -> list[Case]:
    """The labelled messages of one guard set file (YAML)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(str(c["text"]), Category(c["expect"]), c["lang"], tuple(c.get("tags", ())))
        for c in raw["cases"]
    ]


@dataclass(frozen=True)
class GuardReport:
    """Recall on the cases that must be caught, false refusals on those that must not."""

    recall: float
    false_refusal_rate: float
    missed: list[Case]
    refused: list[Case]
    must_catch: int
    must_pass: int
    ms_per_message: float


def score(cases: Sequence[Case], detector: GuardDetector | None = None) -> GuardReport:
    """Run the detector over labelled cases."""
    detector = detector or default_detector()
    catch = [c for c in cases if c.expect is not Category.NONE]
    passing = [c for c in cases if c.expect is Category.NONE]
    started = time.perf_counter()
    missed = [c for c in catch if not c.caught_by(detector.detect(c.text, context=c.context))]
    refused = [c for c in passing if not c.caught_by(detector.detect(c.text))]
    elapsed = time.perf_counter() - started
    return GuardReport(
        recall=1 - len(missed) / max(len(catch), 1),
        false_refusal_rate=len(refused) / max(len(passing), 1),
        missed=missed,
        refused=refused,
        must_catch=len(catch),
        must_pass=len(passing),
        ms_per_message=1000 * elapsed / max(len(cases), 1),
    )


def guard_report(detector: GuardDetector | None = None) -> GuardReport:
    """The project's own sets: the red team (must be caught) and benign (must pass)."""
    return score(load_cases(REDTEAM_FILE) + load_cases(BENIGN_FILE), detector)


def nlu_cross_validation(cfg: Settings, folds: int = 5) -> dict[str, float]:
    """Rasa's k-fold NLU cross-validation (its command line, in a child process); returns
    intent F1 (macro and weighted)."""
    out = cfg.root / "results" / "nlu-cv"
    subprocess.run(
        [
            sys.executable, "-m", "rasa", "test", "nlu",
            "--nlu", str(cfg.root / "data" / "nlu.yml"),
            "--config", str(cfg.config_path),
            "--cross-validation", "--folds", str(folds),
            "--out", str(out),
        ],
        cwd=cfg.root,
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    report = json.loads((out / "intent_report.json").read_text())
    return {
        "macro_f1": report["macro avg"]["f1-score"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "accuracy": report["accuracy"],
    }
