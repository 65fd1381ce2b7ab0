"""`ldn-bot ask --json` as a separate process (`python -m rasa_project`), as scripts use it:
one JSON object per input line, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ldn_bot.settings import Settings


def ask_json(
    cfg: Settings, lines: list[str], *args: str, tmp: Path
) -> tuple[list[dict[str, Any]], str]:
    """The objects `ask --json` prints for `lines` (its `var/` in `tmp`), and its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "ask", "--json", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=cfg.root,
        timeout=600,
        env={**os.environ, "LDN_BOT_VAR": str(tmp)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines()], result.stdout
