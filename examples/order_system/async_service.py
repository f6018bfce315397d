"""Async Kafka with aiokafka (guide: "Async Kafka with asyncio"), done right.

What changes from the guide's ``AsyncKafkaService``:

* ``publish`` awaits the broker's acknowledgement (``acks="all"``) and sends a key, so
  every event of one key lands in one partition, in order.
* ``consume`` is bounded (:class:`AsyncStopWhen`: ``max_messages``, ``idle_timeout`` or an
  ``asyncio.Event``) instead of ``async for message in consumer`` forever.
* Offsets are committed by hand (``enable_auto_commit=False``) and only after the handler
  has finished a record. A handler that raises stops ``consume`` with that exception and
  leaves the record uncommitted, so the group gets it again on the next ``consume``.

Delivery is at-least-once: a crash (or a rebalance) between the handler's work and the
commit redelivers the record, so handlers must be idempotent (e.g. a Redis ``SET NX`` on
``event_id``) for an effectively-once outcome.

aiokafka's idempotent producer needs InitProducerId, which the embedded test broker
(Tansu) does not answer, so ``enable_idempotence`` stays off here; against Apache Kafka
pass ``producer_overrides={"enable_idempotence": True}`` in the :class:`Connection`.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import RecordMetadata

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    cli_arguments,
    connection_from_args,
    from_json,
    key_bytes,
    to_json,
)

#: What ``consume`` hands each record to; it returns once the record's work is done.
Handler = Callable[[ConsumerRecord], Awaitable[None]]


def decode_value(raw: bytes | None) -> Any:
    """JSON-decoded value; the raw bytes when it is not JSON (the handler decides), or None."""
    if raw is None:
        return None
    try:
        return from_json(raw)
    except ValueError:
        return raw


def decode_key(raw: bytes | None) -> str | bytes | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


@dataclass
class AsyncStopWhen:
    """When ``consume`` returns: any one limit is enough (the asyncio twin of
    :class:`runtime.StopWhen`)."""

    max_messages: int | None = None
    idle_timeout: float | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class AsyncKafkaService:
    """An ``AIOKafkaProducer`` (JSON values, string keys) and bounded, committing consumers."""

    def __init__(self, connection: Connection | None = None) -> None:
        self.connection = connection or Connection()
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Start the producer (connects to the brokers; raises if none answers)."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self.connection.bootstrap_servers,
            value_serializer=to_json,
            key_serializer=key_bytes,
            acks="all",
            enable_idempotence=False,  # InitProducerId fails on the embedded broker
            **self.connection.producer_overrides,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Send what is buffered and stop the producer (idempotent)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    close = stop

    async def __aenter__(self) -> AsyncKafkaService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def publish(self, topic: str, event: Any, key: str | None = None) -> RecordMetadata:
        """Send ``event`` (JSON) with ``key`` and wait for the broker's acknowledgement.

        Raises an ``aiokafka.errors.KafkaError`` when it is not acknowledged within the
        producer's ``request_timeout_ms`` (then the event was *probably* not written; a
        timed-out request may still have landed, which is why consumers deduplicate).
        """
        if self._producer is None:
            raise RuntimeError("AsyncKafkaService.start() was not awaited")
        metadata: RecordMetadata = await self._producer.send_and_wait(topic, event, key=key)
        event_type = event.get("event_type", "event") if isinstance(event, dict) else "event"
        print(f"✓ Published {event_type} to {topic}[{metadata.partition}] "
              f"@ offset {metadata.offset}")
        return metadata

    def new_consumer(self, topic: str, group_id: str) -> AIOKafkaConsumer:
        """A consumer in ``group_id`` that never commits by itself."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.connection.bootstrap_servers,
            "group_id": group_id,
            "auto_offset_reset": "earliest",
            "value_deserializer": decode_value,
            "key_deserializer": decode_key,
            **self.connection.consumer_overrides,
            "enable_auto_commit": False,  # we commit after the handler, never before
        }
        return AIOKafkaConsumer(topic, **config)

    async def consume(
        self,
        topic: str,
        group_id: str,
        handler: Handler,
        until: AsyncStopWhen,
        *,
        poll_timeout: float = 0.2,
    ) -> int:
        """Hand each record of ``topic`` to ``handler`` until ``until`` says stop; return
        how many records were handled (and committed).

        Each partition's batch is committed once all its records are handled. When the
        handler raises, the records before the failing one are committed, the failing one
        is not, and the exception propagates: the group resumes at that record. When a
        rebalance takes a partition mid-batch, the rest of its batch is left to its next
        owner, and a commit the group refuses is logged (those records come again).
        """
        consumer = self.new_consumer(topic, group_id)
        await consumer.start()
        loop = asyncio.get_running_loop()
        handled = 0
        last_message = loop.time()
        try:
            while not until.stop.is_set():
                remaining = None if until.max_messages is None else until.max_messages - handled
                if remaining is not None and remaining <= 0:
                    break
                batches = await consumer.getmany(
                    timeout_ms=int(poll_timeout * 1000), max_records=remaining
                )
                for tp, records in batches.items():
                    handled += await self._handle_batch(consumer, tp, records, handler)
                if batches:
                    last_message = loop.time()
                elif (until.idle_timeout is not None
                      and loop.time() - last_message >= until.idle_timeout):
                    break
        finally:
            await consumer.stop()  # no auto-commit: stopping commits nothing
        return handled

    @staticmethod
    async def _handle_batch(
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        handler: Handler,
    ) -> int:
        done = 0
        try:
            for record in records:
                if tp not in consumer.assignment():
                    break  # a rebalance took the partition: its next owner resumes it
                await handler(record)
                done += 1
        finally:
            if done:
                await _commit(consumer, tp, records[done - 1].offset + 1)
        return done


async def _commit(consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
    """Commit ``tp``'s progress; a commit the group refuses (the partition was revoked,
    the member evicted) is logged, not raised: the records are redelivered to whoever
    owns the partition (at-least-once), and a handler's own exception is not replaced."""
    if tp not in consumer.assignment():
        print(f"Not committing {tp.topic}[{tp.partition}]@{next_offset}: no longer assigned")
        return
    try:
        await consumer.commit({tp: next_offset})
    except (CommitFailedError, IllegalStateError) as exc:
        print(f"Commit of {tp.topic}[{tp.partition}]@{next_offset} failed: {exc!r}")


async def _print_event(record: ConsumerRecord) -> None:
    value = record.value
    if isinstance(value, dict):
        data = value.get("data") or {}
        print(f"← {value.get('event_type')} order_id={data.get('order_id')} "
              f"from {record.topic}[{record.partition}]@{record.offset} key={record.key}")
    else:
        print(f"← undecodable record at {record.topic}[{record.partition}]@{record.offset}")


async def _main(connection: Connection, topic: str, group_id: str, until: AsyncStopWhen) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, until.stop.set)
    service = AsyncKafkaService(connection)
    print(f"Consuming {topic!r} as group {group_id!r} (Ctrl-C to stop)...")
    return await service.consume(topic, group_id, _print_event, until)


def main(argv: list[str] | None = None) -> None:
    parser = cli_arguments("Print order events as they arrive (aiokafka, bounded).")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--group-id", default="async-order-printer")
    args = parser.parse_args(argv)
    connection = connection_from_args(args)
    until = AsyncStopWhen(max_messages=args.max_messages, idle_timeout=args.idle_timeout)
    handled = asyncio.run(_main(connection, args.topic, args.group_id, until))
    print(f"Handled and committed {handled} record(s).")


if __name__ == "__main__":
    main()
