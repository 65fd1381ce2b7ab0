"""`make audit`: pip-audit of the project venv and npm audit of the web widget.

Prints every finding and exits non-zero when one is not explained in
security/audit-allowlist.txt, or when something could not be audited (a
package unknown to the advisory service, the service unreachable): an audit
that did not run must not look like a clean one.

Run with the audit tool venv's Python (stdlib only):
    .venv-audit/bin/python scripts/audit.py --venv .venv
"""

from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "security" / "audit-allowlist.txt"
OWN_PROJECT = "ldn-bot"  # editable install of this repository, not on PyPI


def load_allowlist(path: Path) -> dict[tuple[str, str], str]:
    """(package, advisory ID) -> reason, from lines `ID package reason...`."""
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            vuln_id, package, reason = line.split(maxsplit=2)
            entries[(package.lower(), vuln_id.upper())] = reason
    return entries


def pip_findings(venv: Path) -> tuple[list[dict[str, Any]], list[str], int]:
    """Findings, problems (unaudited packages) and the count audited in the venv."""
    site = glob.glob(str(venv / "lib" / "python3*" / "site-packages"))
    if len(site) != 1:
        return [], [f"no site-packages under {venv}: run `make install`"], 0
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run(
        [bin_dir / "pip-audit", "--path", site[0], "--format", "json", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [], [f"pip-audit failed (exit {proc.returncode}): {proc.stderr.strip()[-600:]}"], 0
    findings, problems, audited = [], [], 0
    for dep in report["dependencies"]:
        if "skip_reason" in dep:
            if dep["name"].lower() != OWN_PROJECT:
                problems.append(f"pip: {dep['name']} not audited: {dep['skip_reason']}")
            continue
        audited += 1
        for vuln in dep["vulns"]:
            findings.append(
                {
                    "package": dep["name"],
                    "version": dep["version"],
                    "ids": [vuln["id"], *vuln.get("aliases", [])],
                    "fixed": "fixed in " + (", ".join(vuln["fix_versions"]) or "no release yet"),
                    "scope": "python",
                }
            )
    return findings, problems, audited


def npm_findings(web: Path, omit_dev: bool) -> tuple[list[dict[str, Any]], list[str], int]:
    """Findings, problems and the dependency count npm audit checked in web/."""
    args = ["npm", "audit", "--json", *(["--omit=dev"] if omit_dev else [])]
    proc = subprocess.run(args, cwd=web, capture_output=True, text=True)
    label = "npm audit --omit=dev" if omit_dev else "npm audit"
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [], [f"{label} failed (exit {proc.returncode}): {proc.stderr.strip()[-600:]}"], 0
    if "error" in report or "vulnerabilities" not in report:
        return [], [f"{label} failed: {report.get('message') or report.get('error')}"], 0
    lock = json.loads((web / "package-lock.json").read_text())["packages"]
    findings = []
    for vuln in report["vulnerabilities"].values():
        versions = sorted({lock.get(node, {}).get("version", "?") for node in vuln["nodes"]})
        for via in vuln["via"]:
            if isinstance(via, dict):  # an advisory; a str names the dependency it comes through
                findings.append(
                    {
                        "package": via["name"],
                        "version": ", ".join(versions),
                        "ids": [via["url"].rsplit("/", 1)[-1]],
                        "fixed": f"vulnerable: {via['range']}",
                        "scope": "npm" if omit_dev else "npm (dev)",
                    }
                )
    total = report.get("metadata", {}).get("dependencies", {})
    return findings, [], total.get("prod" if omit_dev else "total", 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    args = parser.parse_args()
    allow = load_allowlist(ALLOWLIST)

    py, py_problems, py_count = pip_findings(args.venv)
    prod, prod_problems, prod_count = npm_findings(ROOT / "web", omit_dev=True)
    full, full_problems, full_count = npm_findings(ROOT / "web", omit_dev=False)
    seen = {(f["package"], f["ids"][0]) for f in prod}
    findings = py + prod + [f for f in full if (f["package"], f["ids"][0]) not in seen]
    problems = py_problems + prod_problems + full_problems
    shown = py_problems[:3] + prod_problems + full_problems
    if len(py_problems) > 3:
        shown.insert(3, f"pip: ... and {len(py_problems) - 3} more packages not audited")

    used, new = set(), 0
    for f in sorted(findings, key=lambda f: (f["scope"], f["package"].lower(), f["ids"][0])):
        keys = [(f["package"].lower(), i.upper()) for i in f["ids"]]
        hit = next((k for k in keys if k in allow), None)
        used.add(hit)
        new += hit is None
        status = f"explained: {allow[hit]}" if hit else "NEW: not in security/audit-allowlist.txt"
        print(
            f"{f['scope']:9} {f['package']} {f['version']}  {' / '.join(f['ids'])}"
            f"  ({f['fixed']})\n          {status}"
        )
    for package, vuln_id in sorted(set(allow) - used):
        print(f"note: allowlist entry {vuln_id} ({package}) matched no finding; remove it if fixed")
    for problem in shown:
        print(f"ERROR: {problem}")
    print(
        f"\naudited: {py_count} Python packages, {prod_count} npm prod / {full_count} npm total;"
        f" findings: {len(findings)}, explained: {len(findings) - new}, new: {new},"
        f" not audited: {len(problems)}"
    )
    return 1 if new or problems else 0


if __name__ == "__main__":
    sys.exit(main())
