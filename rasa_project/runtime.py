"""`ldn_bot.assistant.Runtime` with Rasa: what the framework-free CLI runs through.

Each method imports the Rasa side it needs when called, so `ldn-bot forget` or `purge`
never loads Rasa or TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

from ldn_bot.assistant import Progress, Running, ServeOptions
from ldn_bot.settings import Settings

# What Rasa and TensorFlow read from the environment when they load: no telemetry (it
# would try the internet), no chatter, and one thread per TensorFlow op pool (the event
# loop is single-threaded; thread hand-offs cost more than tiny ops save).
RASA_ENVIRONMENT = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "LOG_LEVEL_LIBRARIES": "ERROR",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
}


def prepare_environment(cfg: Settings) -> None:
    """Set Rasa's environment (`RASA_ENVIRONMENT`, unless already set) before it loads.

    Called by the entry point, before anything imports Rasa; never at import.
    """
    for name, value in RASA_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if not cfg.debug:
        os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


class RasaRuntime:
    """Training, the in-process assistant and `serve`, each with Rasa 3.6."""

    def model_path(self, cfg: Settings) -> Path:
        """Where the model for the current data and config is (or will be) kept."""
        from rasa_project.training import model_path

        return model_path(cfg)

    def ensure_model(self, cfg: Settings, progress: Progress) -> Path:
        """The trained model for the current data and config, training it if missing."""
        from rasa_project.training import ensure_model

        return ensure_model(cfg, progress)

    def running_assistant(
        self, cfg: Settings, progress: Progress, *, supervised: bool = False
    ) -> Running:
        """Model, action server and agent in this process, torn down on exit."""
        from rasa_project.assistant import running_assistant

        return running_assistant(cfg, progress, supervised=supervised)

    def serve(self, cfg: Settings, options: ServeOptions, progress: Progress) -> None:
        """Run the server until it is stopped."""
        from rasa_project.serve import serve

        serve(cfg, options, progress)
