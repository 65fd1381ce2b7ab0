"""`python -m rasa_project.evaluate` (`make eval`): the evaluation with Rasa's assistant."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ldn_bot.settings import Settings
from rasa_project.runtime import RasaRuntime, prepare_environment


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation with `argv` (default: the command line); the exit status."""
    cfg = Settings.from_env()
    prepare_environment(cfg)
    # Imported after Rasa's environment is set: spaCy's thinc imports TensorFlow, whose
    # start-up lines TF_CPP_MIN_LOG_LEVEL keeps back.
    from ldn_bot.evaluation.command import main as evaluation_main

    return evaluation_main(argv, runtime=RasaRuntime(), cfg=cfg)


if __name__ == "__main__":
    sys.exit(main())
