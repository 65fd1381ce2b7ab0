"""What `ldn-bot serve` lets other machines and other web sites reach.

Everything is closed unless asked for: no Rasa HTTP API, CORS for no other origin,
the REST channel (whose conversation id comes from the request body) open only
while the server listens on loopback, or with a token, and requests answered only for
the server's own host names (the `Host` header: loopback names, the `--public-url` host
and `--allowed-host` names), so a DNS-rebinding page cannot reach a loopback server.
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
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class ExposureError(RuntimeError):
    """A serve option that would open more than asked for, or nothing usable."""


class RestAccess(enum.Enum):
    """Who may post to the REST channel."""

    OPEN = "open"  # requests to a loopback name (`localhost:5005`) on a loopback server
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
        port: the port serve listens on (loopback names are allowed with it only).
        allowed_hosts: names (`bot.example`, any port) or `name:port` accepted in the
            `Host` header besides the loopback names.
    """

    host: str
    cors_origins: tuple[str, ...] = ()
    api: ApiAccess | None = None
    rest_token: str | None = None
    port: int | None = None
    allowed_hosts: tuple[str, ...] = ()

    def host_allowed(self, header: str | None) -> bool:
        """Whether a request's `Host` header names this server."""
        if not header:
            return False
        try:
            name, port = split_host(header)
        except ExposureError:
            return False
        for allowed in self.allowed_host_patterns:
            allowed_name, allowed_port = split_host(allowed)
            if name == allowed_name and (allowed_port is None or allowed_port == port):
                return True
        return False

    @property
    def allowed_host_patterns(self) -> tuple[str, ...]:
        """Every `Host` accepted: loopback names with serve's port (any port when unknown),
        the address serve binds unless it is a wildcard, and `allowed_hosts`."""
        suffix = f":{self.port}" if self.port is not None else ""
        names = [f"{name}{suffix}" for name in LOOPBACK_NAMES]
        if self.host not in WILDCARD_HOSTS and not is_loopback(self.host):
            bound = f"[{self.host}]" if ":" in self.host else self.host
            names.append(f"{bound}{suffix}")
        return tuple(dict.fromkeys([*names, *self.allowed_hosts]))

    @property
    def loopback(self) -> bool:
        """Whether serve binds a loopback address only."""
        return is_loopback(self.host)

    @property
    def rest(self) -> RestAccess:
        """How the REST channel is open: with a token, on loopback only, or off."""
        if self.rest_token is not None:
            return RestAccess.TOKEN
        return RestAccess.OPEN if self.loopback else RestAccess.OFF

    def summary(self, base_url: str) -> list[str]:
        """One line each for REST, the HTTP API and CORS, as serve prints them."""
        webhook = f"POST {base_url}/webhooks/rest/webhook"
        rest = {
            RestAccess.OPEN: f"REST: open, {webhook} (loopback names only: through a proxy "
            "for a public name it needs LDN_BOT_REST_TOKEN)",
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
        hosts = "Hosts: " + ", ".join(self.allowed_host_patterns)
        if not self.allowed_hosts and not self.loopback:
            hosts += (
                f" only ({self.host or 'this address'} is not loopback: name the host names "
                "browsers and proxies use with --allowed-host NAME, LDN_BOT_ALLOWED_HOSTS or "
                "--public-url; any other Host header gets 421)"
            )
        else:
            hosts += " (any other Host header gets 421)"
        return [rest, api, cors, hosts]


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


def split_host(text: str) -> tuple[str, int | None]:
    """A `Host` header or `--allowed-host` value as (lower-case name, port or None);
    IPv6 addresses keep their brackets. ExposureError when it is not a host name."""
    text = text.strip().lower()
    if text.startswith("["):
        name, _, rest = text.partition("]")
        name += "]"
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and port_text is None:
            raise ExposureError(f"host {text!r}: expected [address]:port")
    else:
        name, colon, port_text_or_empty = text.partition(":")
        port_text = port_text_or_empty if colon else None
    if not name or name == "[]" or not all(c.isalnum() or c in ".-_[]:" for c in name):
        raise ExposureError(f"host {text!r}: expected a host name like bot.example")
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ExposureError(f"host {text!r}: the port is not a number from 1 to 65535")
    return name, int(port_text)


def allowed_host(text: str) -> str:
    """An `--allowed-host` value as matched (`bot.example` or `bot.example:8443`)."""
    if "://" in text:
        raise ExposureError(
            f"allowed host {text!r}: give the host name only, like bot.example (no scheme, no path)"
        )
    name, port = split_host(text)
    return name if port is None else f"{name}:{port}"


def names_loopback(host_header: str | None) -> bool:
    """Whether a request's `Host` header is a loopback name (`localhost`, `127.0.0.1`,
    `[::1]`): the request came from this machine, not through a proxy for a public name."""
    try:
        name, _port = split_host(host_header or "")
    except ExposureError:
        return False
    return name in LOOPBACK_NAMES


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
    port: int | None = None,
    public_url: str | None = None,
    allowed_hosts: Sequence[str] = (),
) -> Exposure:
    """The exposure serve's options ask for; the environment fills what they leave out
    (`LDN_BOT_API`, `LDN_BOT_API_TOKEN`, `LDN_BOT_API_JWT_SECRET`, `LDN_BOT_CORS_ORIGINS`
    comma-separated, `LDN_BOT_REST_TOKEN`, `LDN_BOT_ALLOWED_HOSTS` comma-separated).
    The host of `public_url` is an allowed host.

    Raises ExposureError for the HTTP API without a token or JWT secret, a secret
    shorter than `MIN_SECRET_LENGTH`, an origin that is not a plain web origin, or an
    allowed host that is not a host name.
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
    if not allowed_hosts:
        allowed_hosts = [
            h for h in environ.get("LDN_BOT_ALLOWED_HOSTS", "").split(",") if h.strip()
        ]
    hosts = [allowed_host(h) for h in allowed_hosts]
    if public_url:
        parts = urlsplit(public_url.strip())
        if not parts.hostname:
            raise ExposureError(f"public URL {public_url!r}: expected https://bot.example")
        hosts.append(allowed_host(parts.netloc.rpartition("@")[2]))
    return Exposure(
        host=host,
        cors_origins=origins,
        api=api,
        rest_token=rest_token,
        port=port,
        allowed_hosts=tuple(dict.fromkeys(hosts)),
    )


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
