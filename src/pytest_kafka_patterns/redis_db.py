"""Claiming a Redis database, so that no other run or worker touches it, and we touch no other.

A claim is a connection kept open for the whole session, selected on the database and
named (``CLIENT SETNAME``) ``kafka-patterns.db<N>.<host>.<pid>``. A database is ours
when, after naming our connection, ``CLIENT LIST`` shows no other connection claiming
it. Two processes that claim together both see each other and both move on, so two never
hold one database. A claim ends with its connection: when the session ends, or when the
process dies (even by SIGKILL), so nothing needs a heartbeat or cleanup, and no key is
written into anybody's database.

We empty (``FLUSHDB``) only a database we hold the claim on. On a server somebody else
runs (the external backend) we claim only an empty database, unless ``--redis-url``
names one: then that one, and only that one.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field, replace
from typing import Any

from . import extras
from .backends.base import RedisServer
from .errors import ConfigError, KafkaPatternsError, ServiceUnreachable

try:  # the [redis] extra
    import redis
except ModuleNotFoundError:
    extras.require("redis", "pytest_kafka_patterns.redis_db")
    raise

CLAIM_PREFIX = "kafka-patterns.db"
#: Databases a server may have that we look at when it will not tell (CONFIG refused).
SCAN_LIMIT = 1024
_TIMEOUT = 5.0


class ClaimLost(KafkaPatternsError):
    """Another process claims the database this run was using."""


def claim_name(db: int) -> str:
    """The connection name that claims database ``db`` for this process."""
    # CLIENT SETNAME takes printable ASCII without spaces only.
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname()) or "host"
    return f"{CLAIM_PREFIX}{db}.{host}.{os.getpid()}"


@dataclass
class DatabaseClaim:
    """This process's hold on one database of ``server`` (``server.db``)."""

    server: RedisServer
    _connection: redis.Redis[bytes] = field(repr=False)

    def verify(self) -> None:
        """Raise :class:`ClaimLost` unless this process still alone claims the database."""
        try:
            others = _other_claimants(self._connection, self.server.db)
        except redis.RedisError as exc:
            raise ClaimLost(
                f"lost the connection that claims Redis database {self.server.db} at "
                f"{self.server.host}:{self.server.port} ({exc}); is the server still up?"
            ) from None
        if others:
            raise ClaimLost(
                f"Redis database {self.server.db} at {self.server.host}:{self.server.port} is "
                f"now also claimed by {', '.join(others)}, so this run no longer empties it. "
                "Does the server drop idle connections (its `timeout` setting)? Set it to 0."
            )

    def flush(self) -> None:
        """Empty the claimed database (and only it)."""
        self.verify()
        self._connection.flushdb()

    def release(self, *, flush: bool) -> None:
        """End the claim; ``flush`` first empties the database for the next claimant."""
        try:
            if flush:
                self.flush()
        except (redis.RedisError, ClaimLost):
            pass
        finally:
            self._connection.close()


def claim_database(server: RedisServer, *, prefer: int = 0) -> DatabaseClaim:
    """Claim a database of ``server`` for this process; raise :class:`ConfigError` if none.

    ``server.fixed_db`` set: claim that one. Otherwise the first free one, trying
    ``prefer`` first. A free database is unclaimed and, on a server we did not start,
    empty; on our own server (``backend != "external"``) leftovers of a dead worker of
    this run are flushed.
    """
    ours = server.backend != "external"
    where = f"{server.host}:{server.port}"
    if server.fixed_db is not None:
        claim, problem = _try_claim(server, server.fixed_db, require_empty=False)
        if claim is not None:
            return claim
        if problem.startswith("claimed by"):
            advice = (
                "Each test process needs a database of its own: drop the "
                f"/{server.fixed_db} from the URL to let every process claim a free one, "
                "name another database, or run without -n."
            )
        else:
            advice = (
                f"Name another database in --redis-url, or drop the /{server.fixed_db} to "
                "let the run claim a free one."
            )
        raise ConfigError(
            f"cannot use Redis database {server.fixed_db} at {where} that --redis-url names: "
            f"{problem}. {advice}"
        )
    count = _database_count(server)
    limit = count if count is not None else SCAN_LIMIT
    bound = limit
    skipped: list[str] = []
    for db in ((prefer + i) % limit for i in range(limit)):
        if db >= bound:
            continue
        try:
            claim, problem = _try_claim(server, db, require_empty=not ours)
        except _OutOfRange:
            bound = db  # the server has fewer databases than we guessed
            continue
        if claim is not None:
            if ours:
                claim.flush()
            return claim
        skipped.append(f"  {db}: {problem}")
    shown = skipped[:8] + ([f"  ... and {len(skipped) - 8} more"] if len(skipped) > 8 else [])
    advice = (
        "This server was started for the run, so this should not happen: report it."
        if ours else
        "Empty a database you do not need (redis-cli -n <db> FLUSHDB), name one in "
        "--redis-url (redis://host:port/<db>), run fewer xdist workers, or give the server "
        "more databases (its `databases` setting)."
    )
    raise ConfigError(
        f"no free Redis database at {where} ({len(skipped)} looked at):\n"
        + "\n".join(shown) + f"\n{advice}"
    )


class _OutOfRange(Exception):
    pass


def _connect(server: RedisServer, db: int) -> redis.Redis[bytes]:
    return redis.Redis(
        host=server.host, port=server.port, db=db, password=server.password,
        client_name=claim_name(db), single_connection_client=True,
        socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT,
    )


def _try_claim(
    server: RedisServer, db: int, *, require_empty: bool
) -> tuple[DatabaseClaim | None, str]:
    where = f"{server.host}:{server.port}"
    try:
        connection = _connect(server, db)
    except redis.ResponseError as exc:
        if "out of range" in str(exc) or "invalid db" in str(exc).lower():
            if server.fixed_db is not None:
                return None, f"the server has no database {db} ({exc})"
            raise _OutOfRange() from None
        raise _refused(where, exc) from None
    except redis.RedisError as exc:
        raise ServiceUnreachable(f"cannot connect to Redis at {where}: {exc}") from None
    try:
        others = _other_claimants(connection, db)
        if others:
            connection.close()
            return None, f"claimed by {', '.join(others)}"
        keys = int(connection.dbsize())
        if require_empty and keys:
            connection.close()
            return None, f"holds {keys} key(s) that are not this run's"
    except redis.ResponseError as exc:
        connection.close()
        raise _refused(where, exc) from None
    except redis.RedisError as exc:
        connection.close()
        raise ServiceUnreachable(f"lost the connection to Redis at {where}: {exc}") from None
    return DatabaseClaim(replace(server, db=db), connection), ""


def _other_claimants(connection: redis.Redis[bytes], db: int) -> list[str]:
    prefix = f"{CLAIM_PREFIX}{db}."
    me = str(connection.client_id())
    clients: list[dict[str, Any]] = connection.client_list()
    return [
        f"{client['name'][len(prefix):]} (client {client['id']})"
        for client in clients
        if str(client.get("name", "")).startswith(prefix) and str(client.get("id")) != me
    ]


def _database_count(server: RedisServer) -> int | None:
    try:
        with redis.Redis(
            host=server.host, port=server.port, password=server.password,
            socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT,
        ) as client:
            value = client.config_get("databases").get("databases")
    except redis.ResponseError:
        return None  # CONFIG is often disabled on managed servers; we scan instead
    except redis.RedisError as exc:
        raise ServiceUnreachable(
            f"cannot connect to Redis at {server.host}:{server.port}: {exc}"
        ) from None
    return int(value) if value is not None and str(value).isdigit() else None


def _refused(where: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"the Redis at {where} refused a command the plugin needs to claim a database no "
        f"other run uses ({exc}). Allow CLIENT SETNAME, CLIENT LIST, CLIENT ID, DBSIZE and "
        "FLUSHDB for this user, or use --redis-backend=process."
    )
