"""`ldn-bot report --export-nlu` on the command line (issue 14): the file written, with or
without the HTML report, and usage errors that exit 2 before anything is written where
training would read it. Each run is a process that loads the report and spaCy (about 4 s);
the export itself is checked in tests/unit/test_report_export_nlu.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from review_ledger import ROOT
from sqlalchemy.engine import Engine

CLI = (sys.executable, "-m", "rasa_project")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "report", *args],
        cwd=tmp_path,
        env={**os.environ, "LDN_BOT_VAR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_report_export_nlu_command(review_engine: Engine, tmp_path: Path) -> None:
    url = str(review_engine.url)
    out = tmp_path / "review" / "candidates.yml"

    result = _cli(tmp_path, "--database-url", url, "--export-nlu", str(out))

    assert result.returncode == 0, result.stderr
    assert "4 candidate NLU example(s) written to" in result.stdout
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["version"] == "3.1"
    assert not (tmp_path / "report.html").exists()  # only the export was asked for
    both = _cli(tmp_path, "--database-url", url, "--export-nlu", str(out), "--out", "r.html")
    assert both.returncode == 0 and (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--export-nlu"],  # no file
        ["--export-nlu", str(ROOT / "data" / "candidates.yml")],  # training would read it
        ["--export-nlu", str(ROOT / "data" / "nlu" / "more.yml")],
        ["--export-nlu", "."],  # a folder
        ["--export-nlu", "candidates.txt"],  # not YAML
    ],
)
def test_export_nlu_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = _cli(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'x.db'}", *args)

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("usage: ldn-bot report"), result.stderr
    assert (
        not list((ROOT / "data").glob("candidates*")) and not (ROOT / "data/nlu/more.yml").exists()
    )
