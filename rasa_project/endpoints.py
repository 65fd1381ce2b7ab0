"""Rasa's endpoints for this run: `endpoints.yml` plus the run's action server and stores."""

from __future__ import annotations

from typing import Any

from ldn_bot.settings import Settings


def endpoints(cfg: Settings, action_url: str, action_secret: str | None = None) -> Any:
    """`rasa_project/endpoints.yml` with this run's action server, database and Redis.

    With `action_secret` (the action server's), every action call is signed and every
    answer that is not signed with it is refused.
    """
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    from rasa_project.action_endpoint import PooledEndpointConfig

    result = AvailableEndpoints.read_endpoints(str(cfg.endpoints_path))
    result.action = PooledEndpointConfig(url=action_url, secret=action_secret)
    store = result.tracker_store
    if store is not None and store.type and store.type.endswith("LedgerTrackerStore"):
        if cfg.database_url:
            result.tracker_store = EndpointConfig(url=cfg.database_url, type=store.type)
        else:
            cfg.var_dir.mkdir(parents=True, exist_ok=True)
            store.kwargs["db"] = str(cfg.tracker_db)
    if cfg.redis_url:
        result.lock_store = EndpointConfig(type="redis", **redis_lock_store(cfg.redis_url))
    return result


def redis_lock_store(url: str) -> dict[str, Any]:
    """`redis://[:password@]host[:port][/db]` as the settings of Rasa's `RedisLockStore`."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise RuntimeError(f"LDN_BOT_REDIS_URL should look like redis://host:6379/0, not {url!r}")
    return {
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 0),
        "password": parts.password,
        "use_ssl": parts.scheme == "rediss",
        "key_prefix": "ldn_bot",
    }
