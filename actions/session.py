"""Session start: the one-line disclaimer opens every conversation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted
from rasa_sdk.executor import CollectingDispatcher


class ActionSessionStart(Action):
    """Opens every conversation with the disclaimer."""

    def name(self) -> str:
        """The action's name in `domain.yml`."""
        return "action_session_start"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Send the disclaimer, start the session and wait for the person's message."""
        dispatcher.utter_message(response="utter_disclaimer")
        return [SessionStarted(), ActionExecuted("action_listen")]
