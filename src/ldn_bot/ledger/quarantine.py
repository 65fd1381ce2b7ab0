"""Where the stores keep what their database would not take, so nothing is dropped silently.

A conversation's events or a ledger row that the database rejects for a reason retrying
would not cure (a data or integrity error, a value that cannot be serialised), and
whatever is still queued when the process exits with its database unavailable, are
appended here as JSON lines, one item per line, for an operator to inspect or re-import.
The file holds what the database would have held (the conversations' texts among it),
so it is private (0600) and lives under the git-ignored var/ folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# The files the stores keep in their quarantine folder (`var/quarantine` by default).
CONVERSATIONS_FILE = "conversations.jsonl"
LEDGER_FILE = "ledger.jsonl"
QUARANTINE_FILES = (CONVERSATIONS_FILE, LEDGER_FILE)

_MAX_DEPTH = 32  # deeper values are replaced by a marker: the file must always be writable


class Quarantine:
    """An append-only JSON-lines file of set-aside items (safe from several threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def keep(self, kind: str, reason: str, items: Sequence[Mapping[str, Any]]) -> bool:
        """Append one line `{"at", "kind", "reason", "items"}`. False (and logged) when the
        file cannot be written: then the caller's log line is all that is left."""
        line = json.dumps(
            {"at": time.time(), "kind": kind, "reason": reason, "items": plain(list(items))},
            ensure_ascii=True,
        )
        try:
            with self._locked(os.O_WRONLY | os.O_APPEND | os.O_CREAT) as descriptor:
                os.write(descriptor, (line + "\n").encode("utf-8"))
        except OSError as error:
            logger.error("quarantine: %s could not be written (%s)", self.path, error)
            return False
        return True

    def forget(self, *, senders: Collection[str], hashes: Collection[str]) -> int:
        """Remove the items of these conversations (by sender id, or by the salted hash the
        ledger's items carry); returns how many were removed. Part of `ldn-bot forget`."""
        wanted, hashed = set(senders), set(hashes)
        return self._rewrite(
            lambda _line, item: item.get("sender_id") in wanted or item.get("sender_hash") in hashed
        )

    def purge(self, *, before: float) -> int:
        """Remove the items set aside before `before` (a Unix time); returns how many.
        Part of `ldn-bot purge`: the retention period covers this file too."""
        return self._rewrite(lambda line, _item: float(line.get("at") or 0) < before)

    def _rewrite(self, drop: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]) -> int:
        """Rewrite the file in place without the items `drop(line, item)` selects (under
        the same lock `keep` takes, so a running server's lines are never lost)."""
        if not self.path.exists():
            return 0
        removed = 0
        with (
            self._locked(os.O_RDWR) as descriptor,
            os.fdopen(os.dup(descriptor), "r+", encoding="utf-8") as file,
        ):
            kept_lines = []
            for raw in file.read().splitlines():
                if not raw:
                    continue
                line = json.loads(raw)
                items = [item for item in line.get("items", []) if not drop(line, item)]
                removed += len(line.get("items", [])) - len(items)
                if items:
                    kept_lines.append(json.dumps({**line, "items": items}, ensure_ascii=True))
            if removed:
                file.seek(0)
                file.truncate()
                file.write("".join(f"{kept}\n" for kept in kept_lines))
        return removed

    @contextlib.contextmanager
    def _locked(self, flags: int) -> Iterator[int]:
        """The file opened with `flags` (0600 when created), locked against this process's
        threads and, by `flock`, against other processes (serve appending, a CLI rewriting)."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, flags, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield descriptor
            finally:
                os.close(descriptor)

    def read(self) -> list[dict[str, Any]]:
        """Every line kept so far (for tests and for an operator's script)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line]


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON can always hold it: nesting cut at `_MAX_DEPTH`, non-JSON values
    and non-finite numbers as their `repr` (at most 1,000 characters), lone surrogates
    escaped by `ensure_ascii`."""
    if depth > _MAX_DEPTH:
        return "<nested too deeply>"
    if isinstance(value, Mapping):
        return {str(key): plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)[:1000]
