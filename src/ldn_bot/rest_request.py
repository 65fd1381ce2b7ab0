"""The body of a REST channel request, checked before Rasa sees it.

Rasa's REST channel reads `sender` and `message` from any JSON body as they come: a
non-object body is a 500, a missing sender puts the turn in the shared conversation
"default", numbers and lists become the sender id "5" or "['a']", and a message that is
not a string loses the turn. Here a body is either a `RestRequest` or a `RestRequestError`
whose text says what to send instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ldn_bot.inputs import encodable
from ldn_bot.metadata import MetadataError, checked_metadata

MAX_SENDER_LENGTH = 128  # the web channel's session ids are capped the same way
EXPECTED = 'expected a JSON object like {"sender": "me", "message": "what is LDN?"}'


class RestRequestError(ValueError):
    """The request cannot be a turn: the text is the answer for the client."""


@dataclass(frozen=True)
class RestRequest:
    """One user message for the REST channel.

    Attributes:
        sender: the conversation id, 1 to `MAX_SENDER_LENGTH` characters.
        message: the text; may be empty (the bot answers empty input itself).
        metadata: the optional `metadata` object, passed on to Rasa once
            `ldn_bot.metadata.checked_metadata` accepts it (small, shallow, plain JSON).
    """

    sender: str
    message: str
    metadata: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The body Rasa's channel reads: only these keys, so a client cannot set
        `input_channel` (which the ledger records) or anything else."""
        body: dict[str, Any] = {"sender": self.sender, "message": self.message}
        if self.metadata is not None:
            body["metadata"] = self.metadata
        return body


def is_json(content_type: str | None) -> bool:
    """Whether a `Content-Type` header says JSON (`application/json`, any parameters,
    such as `; charset=utf-8`). Browsers send other sites' forms and `text/plain` bodies
    without asking first; `application/json` from another origin needs a CORS preflight."""
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def parse_rest_request(body: bytes) -> RestRequest:
    """The request in `body`, or `RestRequestError` saying what is wrong with it."""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RestRequestError(f"the body is not UTF-8: {EXPECTED}") from error
    except ValueError as error:
        raise RestRequestError(f"the body is not JSON: {EXPECTED}") from error
    except RecursionError as error:  # json.loads overflows on ~2,000 nested arrays or objects
        raise RestRequestError("the body is nested too deeply to be read") from error
    if not isinstance(data, dict):
        raise RestRequestError(f"the body is JSON but not an object: {EXPECTED}")
    sender, message, metadata = data.get("sender"), data.get("message"), data.get("metadata")
    if not isinstance(sender, str) or not sender.strip():
        raise RestRequestError(f'"sender" must be a non-empty string: {EXPECTED}')
    if len(sender) > MAX_SENDER_LENGTH:
        raise RestRequestError(f'"sender" must be at most {MAX_SENDER_LENGTH} characters')
    if not sender.isprintable():
        raise RestRequestError('"sender" must not hold control characters or line breaks')
    if not isinstance(message, str):
        raise RestRequestError(f'"message" must be a string (it may be empty): {EXPECTED}')
    if not encodable(sender) or not encodable(message):
        raise RestRequestError('"sender" and "message" must not hold lone surrogates (\\ud800)')
    if metadata is not None:
        try:
            metadata = checked_metadata(metadata)
        except MetadataError as error:
            raise RestRequestError(str(error)) from error
    return RestRequest(sender=sender, message=message, metadata=metadata)
