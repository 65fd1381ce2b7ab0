"""Evaluation for `make eval` and the tests.

- `guard`: the guard detector alone, in-process, on the red-team, benign and
  hold-out sets, and Rasa's NLU cross-validation.
- `sets`, `run`, `metrics`, `report`: every set end to end through the real
  assistant (referral recall, false referrals, false emergencies, topic accuracy,
  each with its Wilson 95% interval); `python -m rasa_project.evaluate` (`make eval`) runs it all.
"""

from ldn_bot.evaluation.guard import (
    ACCEPTED,
    BENIGN_FILE,
    CASES_DIR,
    INDEPENDENT_FILE,
    REDTEAM_FILE,
    Case,
    GuardReport,
    guard_report,
    load_cases,
    nlu_cross_validation,
    score,
)

__all__ = [
    "ACCEPTED",
    "BENIGN_FILE",
    "CASES_DIR",
    "INDEPENDENT_FILE",
    "REDTEAM_FILE",
    "Case",
    "GuardReport",
    "guard_report",
    "load_cases",
    "nlu_cross_validation",
    "score",
]
