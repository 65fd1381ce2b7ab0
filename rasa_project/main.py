"""The `ldn-bot` command: settings built once, Rasa's environment set, then the core CLI."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ldn_bot.cli import main as cli_main
from ldn_bot.settings import Settings
from rasa_project.runtime import RasaRuntime, prepare_environment


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ldn-bot` with `argv` (default: the command line); the exit status."""
    cfg = Settings.from_env()
    prepare_environment(cfg)
    return cli_main(argv, runtime=RasaRuntime(), cfg=cfg)


if __name__ == "__main__":
    sys.exit(main())
