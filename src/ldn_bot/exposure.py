"""What `ldn-bot serve` lets other machines and other web sites reach.

Everything is closed unless asked for: no Rasa HTTP API, CORS for no other origin,
and the REST channel (whose conversation id comes from the request body) open only
while the server listens on loopback, or with a token.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

MIN_SECRET_LENGTH = 16
MAKE_A_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
TRUE = {"1", "true", "yes", "on"}
DEFAULT_PORTS = {"http": 80, "https": 443}


class ExposureError(RuntimeError):
    """A serve option that would open more than asked for, or nothing usable."""


class RestAccess(enum.Enum):
    """Who may post to the REST channel."""

    OPEN = "open"  # anyone who reaches the server: only on loopback
    TOKEN = "token"  # requests with `Authorization: Bearer <token>`
    OFF = "off"  # not served (a non-loopback address and no token)


@dataclass(frozen=True)
class ApiAccess:
    """The read-only Rasa HTTP API and what a request needs to use it.

    Attributes:
        token: Rasa's `?token=` query parameter.
        jwt_secret: HS256 secret of Rasa's `Authorization: Bearer <JWT>` tokens.
    """

    token: str | None = None
    jwt_secret: str | None = None


@dataclass(frozen=True)
class Exposure:
    """The serve options about access, checked once.

    Attributes:
        host: the interface serve binds.
        cors_origins: other web origins allowed to call the server from a browser
            (`https://clinic.example`); none means same origin only.
        api: the Rasa HTTP API (read-only routes), or None when off.
        rest_token: the bearer token the REST channel requires, if any.
    """

    host: str
    cors_origins: tuple[str, ...] = ()
    api: ApiAccess | None = None
    rest_token: str | None = None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def rest(self) -> RestAccess:
        if self.rest_token is not None:
            return RestAccess.TOKEN
        return RestAccess.OPEN if self.loopback else RestAccess.OFF

    def summary(self, base_url: str) -> list[str]:
        """One line each for REST, the HTTP API and CORS, as serve prints them."""
        webhook = f"POST {base_url}/webhooks/rest/webhook"
        rest = {
            RestAccess.OPEN: f"REST: open, {webhook} (loopback only; "
            "LDN_BOT_REST_TOKEN requires a token)",
            RestAccess.TOKEN: f"REST: {webhook} with 'Authorization: Bearer <LDN_BOT_REST_TOKEN>'",
            RestAccess.OFF: f"REST: off ({self.host} is not loopback: set LDN_BOT_REST_TOKEN "
            "to serve it with a token)",
        }[self.rest]
        if self.api is None:
            api = "HTTP API: off (--enable-api with LDN_BOT_API_TOKEN for read-only access)"
        else:
            ways = [
                w for w, on in (("?token=", self.api.token), ("JWT", self.api.jwt_secret)) if on
            ]
            api = f"HTTP API: read-only routes, with {' or '.join(ways)} (model changes: 404)"
        cors = "CORS: " + (", ".join(self.cors_origins) or "same origin only")
        return [rest, api, cors]


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses; any other name or address is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def web_origin(text: str) -> str:
    """`text` as a browser sends it in `Origin` (`https://clinic.example`), or ExposureError."""
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError as error:
        raise ExposureError(f"CORS origin {text!r}: the port is not a number") from error
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "*" in text
    ):
        raise ExposureError(
            f"CORS origin {text!r}: expected a scheme and host like https://clinic.example "
            "(no path, no wildcard: list each site)"
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    keep_port = port is not None and port != DEFAULT_PORTS[parts.scheme]
    return f"{parts.scheme}://{host}{f':{port}' if keep_port else ''}"


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries `Bearer <token>` (constant-time)."""
    expected = f"Bearer {token}".encode()
    return hmac.compare_digest((authorization or "").strip().encode(), expected)


def exposure_from(
    *,
    host: str,
    environ: Mapping[str, str],
    enable_api: bool = False,
    api_token: str | None = None,
    api_jwt_secret: str | None = None,
    cors_origins: Sequence[str] = (),
    rest_token: str | None = None,
) -> Exposure:
    """The exposure serve's options ask for; the environment fills what they leave out
    (`LDN_BOT_API`, `LDN_BOT_API_TOKEN`, `LDN_BOT_API_JWT_SECRET`, `LDN_BOT_CORS_ORIGINS`
    comma-separated, `LDN_BOT_REST_TOKEN`).

    Raises ExposureError for the HTTP API without a token or JWT secret, a secret
    shorter than `MIN_SECRET_LENGTH`, or an origin that is not a plain web origin.
    """
    enable_api = enable_api or environ.get("LDN_BOT_API", "").strip().lower() in TRUE
    api_token = _secret("LDN_BOT_API_TOKEN", api_token, environ)
    api_jwt_secret = _secret("LDN_BOT_API_JWT_SECRET", api_jwt_secret, environ)
    rest_token = _secret("LDN_BOT_REST_TOKEN", rest_token, environ)
    if not cors_origins:
        cors_origins = [o for o in environ.get("LDN_BOT_CORS_ORIGINS", "").split(",") if o.strip()]
    api = None
    if enable_api:
        if api_token is None and api_jwt_secret is None:
            raise ExposureError(
                "the HTTP API needs a token: set LDN_BOT_API_TOKEN (or --api-token) to a "
                f"random string, e.g. from `{MAKE_A_SECRET}`, or LDN_BOT_API_JWT_SECRET"
            )
        api = ApiAccess(token=api_token, jwt_secret=api_jwt_secret)
    origins = tuple(dict.fromkeys(web_origin(o) for o in cors_origins))
    return Exposure(host=host, cors_origins=origins, api=api, rest_token=rest_token)


def _secret(variable: str, given: str | None, environ: Mapping[str, str]) -> str | None:
    value = (given if given is not None else environ.get(variable, "")).strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_LENGTH:
        raise ExposureError(
            f"{variable} is too short to guess-proof: use at least {MIN_SECRET_LENGTH} "
            f"random characters, e.g. from `{MAKE_A_SECRET}`"
        )
    return value
