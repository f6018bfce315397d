"""NEGATIVE CONTROL -- the guide's ``IdempotentConsumer`` in spirit: don't copy.

Two bugs the tests catch:

* check-then-act: ``SISMEMBER`` (check), the effect (act), ``SADD`` (mark) are three
  separate steps. Two consumers handling the same event both pass the check before
  either marks it, and both apply the effect (a crash between act and mark does the same).
* a TTL on the whole set: ``EXPIRE processed <7 days>`` after every ``SADD`` moves the
  expiry of *every* id to "7 days after the latest event". Under steady traffic no id
  ever expires and the set grows for ever; after a quiet spell they all vanish at once.

The correct version (one atomic claim-and-apply script, a TTL per id):
:mod:`examples.order_system.idempotent_consumer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from kafka import KafkaConsumer

from examples.order_system.runtime import ORDERS_TOPIC, Connection, StopWhen, from_json, run_loop

SEVEN_DAYS = 7 * 24 * 3600


class ProcessedSet:
    """The guide's ``_is_processed``/``_mark_processed``: one Redis set, one TTL for all."""

    def __init__(self, client: redis.Redis, key: str, ttl_seconds: int = SEVEN_DAYS) -> None:
        self.client = client
        self.key = key
        self.ttl_seconds = ttl_seconds

    def is_processed(self, event_id: str) -> bool:
        return bool(self.client.sismember(self.key, event_id))

    def mark_processed(self, event_id: str) -> None:
        self.client.sadd(self.key, event_id)
        self.client.expire(self.key, self.ttl_seconds)  # BUG: the whole set's TTL


class NaiveIdempotentConsumer:
    def __init__(
        self,
        process: Callable[[Any], None],
        connection: Connection | None = None,
        *,
        topic: str = ORDERS_TOPIC,
        group_id: str = "payment-processor",
        namespace: str | None = None,
        ttl_seconds: int = SEVEN_DAYS,
    ) -> None:
        connection = connection or Connection()
        self.process = process
        self.redis = redis.Redis.from_url(connection.redis_url)
        self.processed = ProcessedSet(
            self.redis, f"processed:{namespace or group_id}", ttl_seconds
        )
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **connection.consumer_overrides,
        )

    def step(self, timeout: float) -> int:
        polled = self.consumer.poll(timeout_ms=int(timeout * 1000))
        handled = 0
        for records in polled.values():
            for message in records:
                handled += 1
                event = from_json(message.value)
                event_id = event.get("event_id")
                if not event_id or self.processed.is_processed(event_id):  # check ...
                    self.consumer.commit()
                    continue
                try:
                    self.process(event)  # ... act ...
                    self.processed.mark_processed(event_id)  # ... mark: BUG, not atomic
                    self.consumer.commit()
                except Exception as e:
                    print(f"✗ Error: {e} - will retry")  # BUG: nothing seeks back
        return handled

    def run(self, until: StopWhen | None = None) -> int:
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.redis.close()
