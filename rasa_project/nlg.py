"""The output guard, wired into Rasa's response generation.

Every templated reply, whether sent by a rule or by an action, is generated
here; a reply with a dose-leak pattern anywhere (text, buttons, any field) is
replaced by the dosing referral and logged. Configured in `endpoints.yml` as the
`nlg` type. This is the first check; `rasa_project.patches` checks every message
again, whatever produced it, just before it is logged and sent.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from ldn_bot.guard.outgoing import check_outgoing
from ldn_bot.guard.verdict import Category
from ldn_bot.routing import SAFETY_RESPONSE
from rasa_project import patches

logger = logging.getLogger(__name__)

REFERRAL = SAFETY_RESPONSE[Category.DOSING]


class GuardedNLG(TemplatedNaturalLanguageGenerator):
    """Templated responses, with every text checked by the output guard.

    Rasa builds it from `endpoints.yml` before it loads the model; it installs the
    fail-closed fixes of `rasa_project.patches` too (idempotent), whichever comes first.
    """

    def __init__(
        self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None
    ) -> None:
        patches.apply()
        super().__init__((domain or Domain.empty()).responses)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """The templated response, or the dosing referral when the output guard finds a leak."""
        draft = await super().generate(utter_action, tracker, output_channel, **kwargs)
        leak = check_outgoing(draft or {})
        if leak is None:
            return draft
        logger.warning(
            "output guard replaced response %s (rule %s in %s) for sender %s",
            utter_action,
            leak.rule,
            leak.where,
            tracker.sender_id,
        )
        safe = await super().generate(REFERRAL, tracker, output_channel)
        if safe is not None:
            safe["output_guard"] = leak.rule
        return safe
