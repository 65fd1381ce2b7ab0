"""How the command line says what a long step is doing."""

from __future__ import annotations

import sys


def progress(message: str) -> None:
    """One line on stderr (stdout stays the command's output: `ask --json` prints JSON)."""
    print(f"· {message}", file=sys.stderr, flush=True)
