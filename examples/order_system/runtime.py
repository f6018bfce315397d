"""What every service shares: connection settings, JSON on the wire, a loop tests can stop.

A service's ``run()`` never loops forever: it stops after ``max_messages``, after
``idle_timeout`` seconds without a message, or when ``stop`` is set, whichever comes
first, so a test (or Ctrl-C in a terminal) always ends it.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

ORDERS_TOPIC = "orders"
INVENTORY_TOPIC = "inventory"


def to_json(value: Any) -> bytes:
    return json.dumps(value, default=str).encode("utf-8")


def from_json(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"))


def key_bytes(key: str | None) -> bytes | None:
    return key.encode("utf-8") if key is not None else None


@dataclass(frozen=True)
class Connection:
    """Where the services find Kafka and Redis, and client settings to layer on top.

    ``consumer_overrides`` lets a test pass its broker's fast group timings
    (``kafka_broker.consumer_defaults``); production leaves it empty.
    """

    bootstrap_servers: str = "localhost:9092"
    redis_url: str = "redis://localhost:6379/0"
    consumer_overrides: Mapping[str, Any] = field(default_factory=dict)
    producer_overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class StopWhen:
    """When a service loop ends; all limits are optional, and any one is enough."""

    max_messages: int | None = None
    idle_timeout: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    done: Callable[[], bool] | None = None
    """Asked after each poll that handed out nothing: ``True`` ends the loop. A test's
    "the restart has nothing left to do" is ``done=lambda: caught_up(service.consumer)``,
    a condition, instead of an idle timeout waited out."""


def run_loop(step: Callable[[float], int], until: StopWhen, poll_timeout: float = 0.2) -> int:
    """Call ``step(poll_timeout)`` (which returns how many messages it handled) until
    ``until`` says stop; return the number of messages handled."""
    handled = 0
    last_message = time.monotonic()
    while not until.stop.is_set():
        if until.max_messages is not None and handled >= until.max_messages:
            break
        count = step(poll_timeout)
        handled += count
        now = time.monotonic()
        if count:
            last_message = now
            continue
        if until.done is not None and until.done():
            break
        if until.idle_timeout is not None and now - last_message >= until.idle_timeout:
            break
    return handled


def caught_up(consumer: KafkaConsumer) -> bool:
    """``consumer`` holds an assignment and its position on every assigned partition is
    that partition's high watermark: nothing is left for it to read.

    The high watermark is the one the last Fetch response carried
    (``KafkaConsumer.highwater``), not ListOffsets "latest", which the embedded broker
    (Tansu 0.6) answers wrongly after a multi-record batch. ``False`` until the consumer
    has joined, has a position, and has fetched each partition once.
    """
    assigned = consumer.assignment()
    if not assigned:
        return False
    for tp in assigned:
        end = consumer.highwater(tp)
        position = consumer.position(tp, timeout_ms=500)
        if end is None or position is None or position < end:
            return False
    return True


def offset_and_metadata(offset: int) -> OffsetAndMetadata:
    """kafka-python 3's ``OffsetAndMetadata(offset, "", -1)``; 2.0 has no leader epoch."""
    return OffsetAndMetadata(*(offset, "", -1)[: len(OffsetAndMetadata._fields)])


def poll_records(
    consumer: KafkaConsumer, timeout: float, max_records: int | None = None
) -> dict[TopicPartition, list[ConsumerRecord]]:
    """``consumer.poll()`` that outlives a broker blip: a retriable ``KafkaError`` (the
    connection dropped) gives no records instead of ending the service.

    kafka-python 3.0 raises ``KafkaConnectionError`` from ``poll()`` when the connection
    drops while it looks up the group coordinator (found by the contracts' ``network``
    scenario). Nothing was handed out yet, so polling again is safe.
    """
    try:
        polled: dict[TopicPartition, list[ConsumerRecord]] = consumer.poll(
            timeout_ms=int(timeout * 1000), max_records=max_records
        )
    except KafkaError as exc:
        if not exc.retriable:
            raise
        print(f"Poll failed ({exc!r}); polling again")
        time.sleep(min(timeout, 0.5))
        return {}
    return polled


class RetryInPlace:
    """Redeliver a failed message by seeking back to it; give up after ``max_attempts``.

    Not committing is not enough: the consumer's position has already moved past the
    message, so the next commit would skip it (the guide's bug). Seeking back makes the
    next poll return it again, and every later message of its partition after it.
    """

    def __init__(
        self,
        consumer: KafkaConsumer,
        error: Callable[[str], Exception],
        max_attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.consumer = consumer
        self.error = error
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._attempts: dict[tuple[TopicPartition, int], int] = {}

    def failed(self, tp: TopicPartition, offset: int, exc: Exception) -> None:
        """Seek back to ``offset``; raise ``error(...)`` once it failed ``max_attempts`` times."""
        attempt = self._attempts.get((tp, offset), 0) + 1
        self._attempts[(tp, offset)] = attempt
        self.consumer.seek(tp, offset)
        where = f"{tp.topic}[{tp.partition}]@{offset}"
        if attempt >= self.max_attempts:
            raise self.error(
                f"{where} failed {attempt} time(s), last: {exc!r}; stopping with it uncommitted"
            ) from exc
        print(f"✗ {where}: attempt {attempt}/{self.max_attempts} failed ({exc!r}); retrying")
        time.sleep(self.backoff * attempt)

    def succeeded(self, tp: TopicPartition, offset: int) -> None:
        self._attempts.pop((tp, offset), None)


def commit_partition(consumer: KafkaConsumer, tp: TopicPartition, next_offset: int) -> bool:
    """Commit one partition's position; ``False`` if the commit failed (a rebalance took the
    partition away, or the broker could not be reached). The message is not lost: a later
    commit covers it, or whoever owns the partition next resumes before it (at least once).
    A caller that stops its batch there must :func:`rewind_unhandled` the rest.
    """
    try:
        consumer.commit({tp: offset_and_metadata(next_offset)})
    except KafkaError as exc:
        print(f"Commit of {tp.topic}[{tp.partition}]@{next_offset} failed: {exc!r}")
        return False
    return True


def commit_positions(consumer: KafkaConsumer) -> bool:
    """Commit every assigned partition's position; ``False`` if the commit failed
    (logged). Nothing is lost: the positions stay, so the next commit covers these
    records, or the partition's next owner reads them again (at least once)."""
    try:
        consumer.commit()
    except KafkaError as exc:
        print(f"Commit failed: {exc!r}; the next commit covers it")
        return False
    return True


def rewind_unhandled(
    consumer: KafkaConsumer,
    polled: Mapping[TopicPartition, list[ConsumerRecord]],
    tp: TopicPartition,
    next_offset: int,
) -> None:
    """After a failed commit mid-batch: seek ``tp`` to ``next_offset`` and every partition
    after it in ``polled`` to its first record, so the next poll hands them out again.

    Stopping the batch without this loses its rest: ``poll()`` already moved the
    positions past it, and the next commit would cover it (found by the contracts'
    ``network`` scenario). Partitions no longer assigned are left to their next owner.
    """
    assigned = consumer.assignment()
    reached = False
    for part, records in polled.items():
        reached = reached or part == tp
        if not reached or not records or part not in assigned:
            continue
        consumer.seek(part, next_offset if part == tp else records[0].offset)


def handle_and_commit_each(
    consumer: KafkaConsumer,
    retry: RetryInPlace,
    handle: Callable[[ConsumerRecord], None],
    timeout: float,
) -> int:
    """Poll once and hand each record to ``handle``, committing right after it; return
    how many were handled. A record whose ``handle`` raises is retried in place
    (``retry``); a failed commit stops the batch and rewinds the rest of it."""
    handled = 0
    batches = poll_records(consumer, timeout)
    for tp, records in batches.items():
        for record in records:
            try:
                handle(record)
            except Exception as exc:
                retry.failed(tp, record.offset, exc)
                break  # this partition's later records come again after the seek
            retry.succeeded(tp, record.offset)
            handled += 1
            if not commit_partition(consumer, tp, record.offset + 1):
                rewind_unhandled(consumer, batches, tp, record.offset + 1)
                return handled
    return handled


class Service(Protocol):
    def run(self, until: StopWhen | None = None) -> int: ...
    def close(self) -> None: ...


def run_from_cli(service: Service, args: argparse.Namespace) -> int | None:
    """``service.run()`` within the command line's limits; how many messages it handled,
    or ``None`` when Ctrl-C ended it. The service is closed either way."""
    try:
        return service.run(StopWhen(args.max_messages, args.idle_timeout))
    except KeyboardInterrupt:
        return None
    finally:
        service.close()


def cli_arguments(description: str) -> argparse.ArgumentParser:
    """The arguments every service's ``python -m ...`` entry point accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap-servers", default="localhost:9092")
    parser.add_argument("--redis-url", default="redis://localhost:6379/0")
    parser.add_argument("--max-messages", type=int, default=None,
                        help="stop after this many messages (default: run until Ctrl-C)")
    parser.add_argument("--idle-timeout", type=float, default=None,
                        help="stop after this many seconds without a message")
    parser.add_argument("--session-timeout-ms", type=int, default=6000,
                        help="consumer group session (default 6000, Kafka's minimum; a fresh "
                        "group on the embedded broker is assigned after half of it)")
    return parser


def connection_from_args(args: argparse.Namespace) -> Connection:
    """The :class:`Connection` the command line asks for."""
    session = args.session_timeout_ms
    return Connection(
        bootstrap_servers=args.bootstrap_servers,
        redis_url=args.redis_url,
        consumer_overrides={
            "session_timeout_ms": session,
            "heartbeat_interval_ms": max(session // 6, 100),
        },
    )
