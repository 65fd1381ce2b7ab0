"""Which `/intent` payloads a person may send: only the ones our own buttons send.

Rasa reads a message that starts with `/` as an intent given directly, skipping the
classifier. Our quick replies rely on that (`/ask_sources`, and the widget's `/greet`
when a page opens), but anyone can type one: `/back` ran Rasa's `action_back`, which
answered nothing and rewound the stored conversation (the context the guard reads), and
`/restart`, `/session_start`, `/nlu_fallback` or any intent of the domain picked a
dialogue path by hand. Any other payload is read as the words it holds (`/back` as
"back"): it is classified, guarded and answered like any message, and rewinds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

INTENT_PREFIX = "/"
# Sent by the chat widget when the page opens (web/static/js/widget.js `initPayload`).
WIDGET_PAYLOADS = frozenset({"/greet"})


def button_payloads(responses: Mapping[str, Iterable[Mapping[str, Any]]]) -> frozenset[str]:
    """Every `/` payload of a button in the domain's responses, plus the widget's own."""
    found = set(WIDGET_PAYLOADS)
    for variations in responses.values():
        for variation in variations:
            for button in variation.get("buttons") or ():
                payload = button.get("payload") if isinstance(button, Mapping) else None
                if isinstance(payload, str) and payload.startswith(INTENT_PREFIX):
                    found.add(payload.strip())
    return frozenset(found)


def as_sent(text: str, allowed: frozenset[str]) -> str:
    """`text` as Rasa should read it: a payload of our own buttons as it is, any other
    text starting with `/` without its slashes (so it is read as words)."""
    stripped = text.strip()
    if not stripped.startswith(INTENT_PREFIX) or stripped in allowed:
        return text
    return stripped.lstrip(INTENT_PREFIX).strip()
