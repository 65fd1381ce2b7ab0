"""Performance fixes to Rasa 3.6, applied by `ldn_bot.runtime` before any agent runs.

1. Action results are validated with a validator built once.

`RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on
every custom action reply. That re-validates the constant schema against the JSON Schema
meta-schema each time, and with the jsonschema 4.17 Rasa installs this was over half of
the Rasa server's CPU time per article answer (py-spy, README "Performance"). The
replacement validates against the same schema with a validator built once, raising the
same error (`best_match`, with Rasa's message), so behaviour is unchanged.

2. `FailSafeTrackerStore` (which wraps every tracker store) creates new trackers with the
base class's `init_tracker` instead of the wrapped store's, so a store cannot mark a new
tracker as its own; it now delegates, as it does for every other method.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.trackers import DialogueStateTracker


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        f"from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _init_tracker(self: FailSafeTrackerStore, sender_id: str) -> DialogueStateTracker:
    return self._tracker_store.init_tracker(sender_id)


def apply() -> None:
    """Install the fixes (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    FailSafeTrackerStore.init_tracker = _init_tracker  # type: ignore[method-assign]
