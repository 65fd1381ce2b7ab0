"""The PostgreSQL and Redis servers of scripts/services.sh: real, usable, loopback only."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
import pytest
import redis
from services import running_services

pytestmark = pytest.mark.services

LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp prints it


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on PORT (from /proc/net/tcp{,6})."""
    addresses: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                addresses.add(address)
    return addresses


def test_postgres_and_redis(tmp_path: Path) -> None:
    with running_services(tmp_path) as env:
        assert set(env) == {"LDN_BOT_DATABASE_URL", "LDN_BOT_REDIS_URL"}
        database_url, redis_url = env["LDN_BOT_DATABASE_URL"], env["LDN_BOT_REDIS_URL"]

        connection = psycopg2.connect(database_url)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute("CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)")
                cursor.execute("INSERT INTO note (body) VALUES (%s) RETURNING id", ("hello",))
                (row_id,) = cursor.fetchone()
                cursor.execute("SELECT body FROM note WHERE id = %s", (row_id,))
                assert cursor.fetchone() == ("hello",)
                cursor.execute("SELECT current_user, current_setting('listen_addresses')")
                assert cursor.fetchone() == ("ldn_bot", "127.0.0.1")
        finally:
            connection.close()
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(database_url.replace("ldn_bot:ldn_bot@", "ldn_bot:wrong@")).close()

        client = redis.Redis.from_url(redis_url)
        try:
            key = f"ldn-bot-test-{uuid.uuid4()}"
            assert client.set(key, "value")
            assert client.get(key) == b"value"
            assert client.config_get("bind")["bind"] == "127.0.0.1"
        finally:
            client.close()

        for url in (database_url, redis_url):
            port = urlparse(url).port
            assert port is not None
            assert _listening_addresses(port) == {LOOPBACK}, url

    for url in (database_url, redis_url):
        assert _listening_addresses(urlparse(url).port or 0) == set(), f"{url} still listening"
