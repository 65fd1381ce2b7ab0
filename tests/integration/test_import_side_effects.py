"""Importing a module of the project changes nothing: no environment variables, no
warning filters, no patched Rasa classes, no blocked modules.

A fresh interpreter first imports every third-party module the project's modules import
(their own side effects are theirs: importing TensorFlow resets the warning filters),
takes a snapshot, then imports each project module in turn and compares after each one,
so a change is pinned on the module whose import made it. Entry points (`__main__`
modules) run code when imported, by design, and are left out.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from ldn_bot.settings import PROJECT_ROOT

PACKAGES = {
    "ldn_bot": PROJECT_ROOT / "src" / "ldn_bot",
    "rasa_project": PROJECT_ROOT / "rasa_project",
    "actions": PROJECT_ROOT / "actions",
}
OURS = tuple(PACKAGES)
# Scripts Alembic runs (with its context set up), not modules anything imports.
NOT_MODULES = ("ldn_bot.ledger.migrations",)

# Rasa methods `rasa_project.patches.apply` replaces: an import must leave them alone.
PATCHED = {
    "rasa.core.actions.action": ["RemoteAction._validate_action_result", "RemoteAction.run"],
    "rasa.core.tracker_store": ["FailSafeTrackerStore.init_tracker"],
    "rasa.core.processor": [
        "MessageProcessor._log_action_on_tracker",
        "MessageProcessor._send_bot_messages",
        "MessageProcessor._parse_message_with_graph",
    ],
}

PROBE = r"""
import importlib, json, os, sys, warnings

modules, third_party, patched = json.loads(sys.argv[1])
for name in third_party:
    try:
        importlib.import_module(name)
    except ImportError:
        pass

def state():
    methods = {}
    for module, names in patched.items():
        owner = importlib.import_module(module)
        for dotted in names:
            cls, attr = dotted.split(".")
            methods[f"{module}.{dotted}"] = id(getattr(getattr(owner, cls), attr))
    return {
        "environ": dict(os.environ),
        "filters": [repr(f) for f in warnings.filters],
        "blocked": sorted(k for k, v in sys.modules.items() if v is None),
        "methods": methods,
    }

changed = {}
before = state()
for name in modules:
    importlib.import_module(name)
    after = state()
    diff = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if diff:
        changed[name] = {key: str(value)[:600] for key, value in diff.items()}
        before = after
print(json.dumps(changed))
"""


def project_modules() -> list[str]:
    """Every module of the three packages but entry points, as dotted names."""
    found = []
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            if not name.startswith(NOT_MODULES):
                found.append(name)
    return found


def third_party_imports(modules: list[str]) -> list[str]:
    """The modules outside the project that the project's modules import, at any depth
    of their code (imports inside functions too: they are loaded on first use)."""
    names: set[str] = set()
    for folder in PACKAGES.values():
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
    return sorted(name for name in names if not name.startswith(OURS) and name != "__future__")


def test_importing_a_module_changes_no_environment_filters_or_classes(tmp_path: Path) -> None:
    modules = project_modules()
    assert "ldn_bot.cli" in modules and "rasa_project.nlu" in modules
    argument = json.dumps([modules, third_party_imports(modules), PATCHED])
    result = subprocess.run(
        [sys.executable, "-c", PROBE, argument],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{PROJECT_ROOT / 'src'}:{PROJECT_ROOT}",
            "HOME": str(tmp_path),
        },
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    changed = json.loads(result.stdout.strip().splitlines()[-1])
    assert changed == {}
