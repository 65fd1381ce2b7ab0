"""Reading the guard's data files (`rules/*.yml`).

One loader for every rules file, so that the detector, the conversation guard,
the normaliser and the spaCy pipeline's vocabulary all read YAML the same way
without importing each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).parent / "rules"


class _RulesLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.1 reads on/off/yes/no as booleans; in word lists they are words."""


_RulesLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RulesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf")
)


def load_rules_yaml(path: Path) -> dict:
    """Read a rules file, keeping on/off/yes/no as words."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_RulesLoader)
