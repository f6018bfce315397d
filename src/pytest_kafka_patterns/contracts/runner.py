"""The consumer side of the harness: ``python -m pytest_kafka_patterns.contracts
module:callable`` imports the callable and runs it with a :class:`RunnerConfig` read from
the environment the harness set (``KAFKA_CONTRACT_*``).

A runner wraps a service: it builds the service from the config, makes the handler raise
for poison events (:meth:`RunnerConfig.check_poison`), records each effect where the
harness reads it (:meth:`RunnerConfig.record_effect`, a Redis list of event ids) and
stops when :attr:`RunnerConfig.stop` is set (SIGTERM). With ``crash_after`` set, the
process SIGKILLs itself right after its effect number ``crash_after`` is recorded, i.e.
between the effect and the offset commit.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pkgutil import resolve_name
from typing import Any

from ..backends.base import Client, client_config
from ..paths import MISSING, field_at

PREFIX = "KAFKA_CONTRACT_"


class PoisonError(RuntimeError):
    """Raised by :meth:`RunnerConfig.check_poison` for an event the scenario poisoned."""


@dataclass
class RunnerConfig:
    """What the harness tells a runner (see the module docstring)."""

    bootstrap_servers: str
    topic: str
    group_id: str
    redis_url: str
    effects_key: str
    consumer_overrides: Mapping[str, Any] = field(default_factory=dict)
    poison: frozenset[str] = frozenset()
    poison_failures: int = 0
    """How many attempts of a poison event fail; 0 means every attempt (true poison)."""
    retry_topic: str | None = None
    dlq_topic: str | None = None
    max_retries: int = 0
    crash_after: int | None = None
    output_topics: tuple[str, ...] = ()
    """The scenario's topics for the contract's ``produces``, in the same order."""
    id_field: str = "event_id"
    """The contract's ``id_field``: the dotted path of an event's id (what an effect
    records and what :attr:`poison` lists)."""
    stop: threading.Event = field(default_factory=threading.Event)
    _redis: Any = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunnerConfig:
        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default)

        crash = get("CRASH_AFTER")
        return cls(
            bootstrap_servers=get("BOOTSTRAP_SERVERS"),
            topic=get("TOPIC"),
            group_id=get("GROUP_ID"),
            redis_url=get("REDIS_URL"),
            effects_key=get("EFFECTS_KEY"),
            consumer_overrides=json.loads(get("CONSUMER_CONFIG", "{}")),
            poison=frozenset(json.loads(get("POISON", "[]"))),
            poison_failures=int(get("POISON_FAILURES", "0")),
            retry_topic=get("RETRY_TOPIC") or None,
            dlq_topic=get("DLQ_TOPIC") or None,
            max_retries=int(get("MAX_RETRIES", "0")),
            crash_after=int(crash) if crash else None,
            output_topics=tuple(filter(None, get("OUTPUT_TOPICS").split(","))),
            id_field=get("ID_FIELD", "event_id"),
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back."""
        values = {
            "BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "TOPIC": self.topic,
            "GROUP_ID": self.group_id,
            "REDIS_URL": self.redis_url,
            "EFFECTS_KEY": self.effects_key,
            "CONSUMER_CONFIG": json.dumps(dict(self.consumer_overrides)),
            "POISON": json.dumps(sorted(self.poison)),  # ids may hold commas
            "POISON_FAILURES": str(self.poison_failures),
            "RETRY_TOPIC": self.retry_topic or "",
            "DLQ_TOPIC": self.dlq_topic or "",
            "MAX_RETRIES": str(self.max_retries),
            "CRASH_AFTER": "" if self.crash_after is None else str(self.crash_after),
            "OUTPUT_TOPICS": ",".join(self.output_topics),
            "ID_FIELD": self.id_field,
        }
        return {PREFIX + name: value for name, value in values.items()}

    def consumer_config(self, client: Client = "kafka-python") -> dict[str, Any]:
        """:attr:`consumer_overrides` (the harness's group timings: session timeout,
        heartbeat, auto-commit interval...) in ``client``'s own key names: kafka-python
        keywords as given, librdkafka properties for ``"confluent-kafka"``
        (``{"session.timeout.ms": 1000, "heartbeat.interval.ms": 200, ...}``), the
        translation of :meth:`~pytest_kafka_patterns.KafkaBroker.consumer_config`.

        A runner knows its client; the harness and the contract file need not: a
        confluent-kafka runner passes ``**config.consumer_config("confluent-kafka")``
        into its ``Consumer({...})``. Raises ``ValueError`` for an unknown ``client``.
        """
        return client_config(self.consumer_overrides, client)

    @property
    def redis(self) -> Any:
        """A Redis client on the harness's database (made on first use)."""
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.redis_url)
        return self._redis

    @property
    def attempts_key(self) -> str:
        return self.effects_key + ":attempts"

    def check_poison(self, event: Any) -> None:
        """Raise :class:`PoisonError` if ``event`` is poisoned (and, for a transient
        poison, still within its failing attempts)."""
        event_id = self.id_of(event)
        if event_id not in self.poison:
            return
        attempt = int(self.redis.hincrby(self.attempts_key, event_id, 1))
        if self.poison_failures == 0 or attempt <= self.poison_failures:
            raise PoisonError(f"poison event {event_id} (attempt {attempt})")

    def id_of(self, event: Any) -> str:
        """The id of ``event`` (a dict) at :attr:`id_field`, as a string; ``""`` when it
        has none."""
        found = field_at(event, self.id_field)
        return "" if found is MISSING or found is None else str(found)

    def record_effect(self, event: Any) -> None:
        """Record one effect of ``event`` (its id at :attr:`id_field`), then maybe crash."""
        length = self.redis.rpush(self.effects_key, self.id_of(event))
        self.after_effect(int(length))

    def after_effect(self, count: int | None = None) -> None:
        """SIGKILL this process if the effect count has reached ``crash_after``."""
        if self.crash_after is None:
            return
        if count is None:
            count = int(self.redis.llen(self.effects_key))
        if count >= self.crash_after:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def load_callable(spec: str) -> Callable[[RunnerConfig], Any]:
    """``package.module:name`` (``name`` may be dotted) -> the object
    (:func:`pkgutil.resolve_name`)."""
    target: Any = resolve_name(spec)
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m pytest_kafka_patterns.contracts module:callable")
    config = RunnerConfig.from_env(os.environ)
    signal.signal(signal.SIGTERM, lambda *_: config.stop.set())
    load_callable(args[0])(config)


if __name__ == "__main__":
    main()
