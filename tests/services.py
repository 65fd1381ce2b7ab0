"""Real PostgreSQL and Redis for tests, started by scripts/services.sh (`make services`
installs Debian's packages)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "services.sh"


def _run(command: str, directory: Path) -> None:
    """Run `scripts/services.sh COMMAND DIRECTORY` from the repository root."""
    subprocess.run(
        ["bash", str(SCRIPT), command, str(directory)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def read_env(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of an env file written by `services.sh start`."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


@contextmanager
def running_services(directory: Path) -> Iterator[dict[str, str]]:
    """Fresh PostgreSQL and Redis servers under DIRECTORY, on 127.0.0.1, stopped on exit.

    Yields LDN_BOT_DATABASE_URL and LDN_BOT_REDIS_URL."""
    try:
        _run("start", directory)
        yield read_env(directory / "env")
    finally:
        _run("stop", directory)


def stop_postgres(directory: Path) -> None:
    """Stop the PostgreSQL of `running_services(directory)`, keeping its data (an outage)."""
    _run("stop-postgres", directory)


def start_postgres(directory: Path) -> None:
    """Start it again, on the same port (the outage ends)."""
    _run("start-postgres", directory)
