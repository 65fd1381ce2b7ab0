"""Summary statistics of timings, shared by the load and in-process figures."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile by nearest rank; NaN when there are no values.

    Args:
        values: Timings, in any order.
        q: The percentile, 0 to 100.

    Returns:
        One of the values, so that a figure is a time that was actually measured.
    """
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
