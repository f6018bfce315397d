"""Production pattern 4 written with confluent-kafka: the payment consumer of
:mod:`examples.order_system.idempotent_consumer`, with the same Redis effect
(:class:`~.idempotent_consumer.IdempotentEffect`: claim + writes in one Lua script), in
librdkafka's idiom.

The loop: ``consume()`` a batch, apply each event's effect, then ``commit(offsets=...,
asynchronous=False)`` the next offset of each partition handled, with
``enable.auto.commit=false`` (librdkafka CONFIGURATION.md). The commit is synchronous so
that a restart never re-reads more than the batch in flight; a crash between the effect
and the commit redelivers the batch, and the claims make those redeliveries no-ops. A
commit that fails (evicted during a network cut, a rebalance) is logged and retried with
the next batch; the batch is re-read by the partition's next owner, again at no cost.

An event whose writes cannot be computed is sought back (``seek`` to its offset) and the
rest of its partition's batch is left for the next ``consume()``: nothing after it in that
partition is applied or committed before it (at-least-once, in order per partition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from .idempotent_consumer import SEVEN_DAYS, IdempotentEffect, RedisWrite, payment_writes
from .runtime import ORDERS_TOPIC, StopWhen, from_json, run_loop

#: Messages one ``consume()`` call hands over at most.
BATCH = 500


class ConfluentIdempotentConsumer:
    """Consume ``topic`` with a ``confluent_kafka.Consumer`` and apply each event's effect
    once per ``event_id`` (see the module docstring).

    ``config``: librdkafka properties, at least ``bootstrap.servers`` and ``group.id``;
    ``namespace`` scopes the claims and effect keys (default: the ``group.id``).
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        redis_url: str,
        *,
        topic: str = ORDERS_TOPIC,
        namespace: str | None = None,
        writes_of: Callable[[Any], Sequence[RedisWrite]] | None = None,
        ttl_seconds: float = SEVEN_DAYS,
    ) -> None:
        self.namespace = namespace or str(config["group.id"])
        self.redis = redis.Redis.from_url(redis_url)
        self.effect = IdempotentEffect(
            self.redis, writes_of or payment_writes(self.namespace),
            namespace=self.namespace, ttl_seconds=ttl_seconds,
        )
        self.consumer = Consumer({
            "auto.offset.reset": "earliest",
            **config,
            "enable.auto.commit": False,  # committed after each batch's effects, below
        })
        self.consumer.subscribe([topic])
        self.applied = 0
        self.duplicates = 0
        self._uncommitted: dict[tuple[str, int], int] = {}

    def step(self, timeout: float) -> int:
        """Consume once, apply each new event's effect, commit; return messages handled."""
        messages = self.consumer.consume(num_messages=BATCH, timeout=timeout)
        handled = 0
        next_offsets: dict[tuple[str, int], int] = {}
        stuck: set[tuple[str, int]] = set()
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(error)
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            if (topic, partition) in stuck:
                continue  # re-read after the failed message, in order
            where = f"{topic}[{partition}]@{offset}"
            try:
                event = from_json(message.value() or b"null")
                event_id = str(event.get("event_id") or where)
                applied = self.effect.apply_event(event, event_id)
            except Exception as error_:  # not applied, not claimed: read it again
                print(f"✗ {where}: {error_!r} - will retry")
                self.consumer.seek(TopicPartition(topic, partition, offset))
                stuck.add((topic, partition))
                continue
            if applied:
                self.applied += 1
                print(f"💳 Applied {event_id} ({where})")
            else:
                self.duplicates += 1
                print(f"⏭ Skipping duplicate: {event_id}")
            next_offsets[(topic, partition)] = offset + 1
            handled += 1
        self._commit(next_offsets)
        return handled

    def _commit(self, next_offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit ``next_offsets`` and any earlier commit that failed, for the partitions
        still assigned. A failed commit (the group evicted this member during a network
        cut: ``UNKNOWN_MEMBER_ID``; a rebalance: ``ILLEGAL_GENERATION``; no coordinator)
        is logged and retried with the next step, not raised: the effects are claimed,
        so the partition's next owner (this member again after its rejoin) re-reads the
        batch at no cost. Only a fatal error (``KafkaError.fatal()``) ends the loop.
        Found by the contracts' ``network`` scenario."""
        pending = {**self._uncommitted, **next_offsets}
        if not pending:
            return
        assigned = {(tp.topic, tp.partition) for tp in self.consumer.assignment()}
        pending = {tp: offset for tp, offset in pending.items() if tp in assigned}
        self._uncommitted = {}
        if not pending:
            return
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in pending.items()],
                asynchronous=False,
            )
        except KafkaException as exc:
            error = exc.args[0]
            if not isinstance(error, KafkaError) or error.fatal():
                raise
            print(f"Commit failed ({error.str()}); retrying it with the next step")
            self._uncommitted = pending

    def run(self, until: StopWhen | None = None) -> int:
        """Handle messages until ``until`` says stop; return how many were handled."""
        print(f"Idempotent consumer (confluent-kafka) started "
              f"(claims: processed:{self.namespace}:<event_id>)")
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        """Leave the group (nothing is committed here: every commit is explicit)."""
        self.consumer.close()
        self.redis.close()
