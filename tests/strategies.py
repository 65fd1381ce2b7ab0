"""Hypothesis strategies shared by the fuzz tests (guard in-process, REST end to end)."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ldn_bot.evaluation import REDTEAM_FILE, load_cases

FACTOR = float(os.environ.get("LDN_BOT_FUZZ_SCALE", "1"))
"""Times the examples of `make test`: `make soak` sets 10, `make test-fast` 0.1."""
SCALE = max(1, int(FACTOR))
"""The same in whole numbers, for scenario sizes (messages, clients): never below 1."""


def fuzz(examples: int) -> settings:
    """`examples` (times FACTOR) generated inputs, no deadline: the figure is the count."""
    return settings(
        max_examples=max(1, round(examples * FACTOR)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


REFERRED = [c for c in load_cases(REDTEAM_FILE) if c.expect.refers_to_doctor]

# Noise a user (or an attacker) wraps around a question: punctuation, symbols, emoji,
# every kind of space, control and format characters (zero-width, bidi). No letters or
# digits, nor symbols that are letters in disguise ("🄐" is "(A)", "①" is "1", and in
# leetspeak "$" is "s" and "@" is "a": the guard reads "$plit" as "split" on purpose).
noise = st.text(
    alphabet=st.characters(categories=("P", "S", "Z", "Cc", "Cf"), exclude_characters="$@").filter(
        lambda char: not any(c.isalnum() for c in unicodedata.normalize("NFKC", char))
    ),
    max_size=40,
)
anything = st.text(max_size=300)
undecodable = st.binary(max_size=300).map(lambda raw: raw.decode("utf-8", errors="replace"))
huge = st.tuples(st.text(max_size=50), st.integers(50, 400)).map(lambda t: t[0] * t[1])
