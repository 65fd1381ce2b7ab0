"""The report's templates and labels ship with the package (issue 14): found through
`importlib.resources`, and in a wheel built from pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

from review_ledger import ROOT


def test_templates_are_found_through_the_package() -> None:
    package = files("ldn_bot.ledger.report")
    for name in ("templates/report.html.j2", "templates/macros.html.j2", "templates/report.css"):
        assert (package / name).is_file(), name
    assert (package / "labels.yml").is_file()
    assert (files("ldn_bot.knowledge") / "scope.yml").is_file()


def test_a_built_wheel_ships_the_templates_and_labels(tmp_path: Path) -> None:
    """What a fresh `pip install` gets: the wheel built from pyproject.toml (in a copy of
    the sources, so the build leaves nothing in the checkout)."""
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("src", "actions", "rasa_project"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", source)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--quiet", "-w", str(tmp_path), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("ldn_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "ldn_bot/ledger/report/templates/report.html.j2",
        "ldn_bot/ledger/report/templates/macros.html.j2",
        "ldn_bot/ledger/report/templates/report.css",
        "ldn_bot/ledger/report/labels.yml",
        "ldn_bot/knowledge/scope.yml",
    ):
        assert name in names, name
