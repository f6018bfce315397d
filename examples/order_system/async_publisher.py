"""Production pattern 1: a non-blocking publisher (batching, linger, compression, callbacks).

``publish()`` queues a record and returns at once; the producer's I/O thread batches
records per partition (``batch_size`` bytes, or ``linger_ms`` after the first), compresses
each batch (gzip: Python's standard library, no extra package) and calls back when the
broker acknowledges (``acks="all"``) or gives up.

What the guide's ``AsyncOrderPublisher`` gets wrong, and this one does instead:

* A record ``send()`` rejects on the spot (too large for ``max_request_size``, no metadata
  within ``max_block_ms``) raises in the caller *after* ``_pending`` was incremented, so
  ``pending`` never returns to 0 and the caller's loop dies. Here it is a failure like any
  other: counted, kept in :attr:`AsyncOrderPublisher.failures`, passed to ``on_error``.
* Failures were only printed, and without saying which record failed. Here each failure
  is a :class:`PublishFailure` (topic, key, value, error) that the caller can inspect,
  re-publish or alert on; ``flush_and_close()`` returns them.
* ``flush_and_close()`` read ``_pending`` without the lock and ``flush()`` could wait
  forever. Here it waits (with a timeout) until every record is acknowledged or failed,
  and reports what is still pending if the broker never answers.

Delivery is at-least-once: the producer retries a batch whose acknowledgement was lost.
kafka-python 3 enables idempotence by default, so retries neither duplicate nor reorder
records within a partition; with kafka-python 2, pass
``producer_overrides={"max_in_flight_requests_per_connection": 1}`` to keep per-key order.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.future import Future

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    cli_arguments,
    connection_from_args,
    key_bytes,
    to_json,
)


@dataclass(frozen=True)
class PublishFailure:
    """A record the broker never acknowledged, with the reason."""

    topic: str
    key: str | None
    value: Any
    error: BaseException


@dataclass(frozen=True)
class PublishReport:
    """What ``flush_and_close()`` saw: acknowledged, failed, and still unanswered."""

    delivered: int
    failures: list[PublishFailure]
    pending: int


class AsyncOrderPublisher:
    """Publish events without waiting for each acknowledgement; account for every one.

    ``on_success(metadata)`` and ``on_error(failure)`` run on the producer's I/O thread
    (or, for a record ``send()`` rejects at once, on the caller's): keep them short.
    """

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[PublishFailure], None] | None = None,
        batch_size: int = 16384,
        linger_ms: int = 10,
        compression_type: str | None = "gzip",
    ) -> None:
        connection = connection or Connection()
        self.producer = KafkaProducer(
            bootstrap_servers=connection.bootstrap_servers,
            batch_size=batch_size,
            linger_ms=linger_ms,
            compression_type=compression_type,
            acks="all",
            # Retries bounded by time, not by count: a leader election takes seconds, and
            # five quick retries ran out first on kafka-python 2.2 (test_cluster.py).
            delivery_timeout_ms=60_000,  # above request_timeout_ms (30 s) + linger_ms
            **connection.producer_overrides,
        )
        self._on_success = on_success
        self._on_error = on_error
        self._settled = threading.Condition()
        self._pending = 0
        self._delivered = 0
        self._failures: list[PublishFailure] = []

    @property
    def pending(self) -> int:
        """Records published but neither acknowledged nor failed yet."""
        with self._settled:
            return self._pending

    @property
    def delivered(self) -> int:
        """Records the broker acknowledged."""
        with self._settled:
            return self._delivered

    @property
    def failures(self) -> list[PublishFailure]:
        """A copy of every failure so far, in the order they happened."""
        with self._settled:
            return list(self._failures)

    def publish(self, topic: str, event: Any, key: str | None = None) -> Future:
        """Queue ``event`` for ``topic``; returns the record's future (already failed when
        ``send()`` rejected it). Never raises for a Kafka error: see :attr:`failures`."""
        with self._settled:
            self._pending += 1
        try:  # serialized here, not by the producer: the same code for kafka-python 2 and 3
            future = self.producer.send(topic, key=key_bytes(key), value=to_json(event))
        except KafkaError as error:  # rejected before it was queued (too large, no metadata)
            self._failed(topic, key, event, error)
            return Future().failure(error)
        except BaseException:  # a programming error (e.g. unserializable value): undo, raise
            with self._settled:
                self._pending -= 1
                self._settled.notify_all()
            raise
        future.add_callback(self._acknowledged)
        future.add_errback(self._failed, topic, key, event)
        return future

    def _acknowledged(self, metadata: Any) -> None:
        with self._settled:
            self._pending -= 1
            self._delivered += 1
            self._settled.notify_all()
        if self._on_success is not None:
            self._on_success(metadata)

    def _failed(self, topic: str, key: str | None, event: Any, error: BaseException) -> None:
        failure = PublishFailure(topic, key, event, error)
        with self._settled:
            self._pending -= 1
            self._failures.append(failure)
            self._settled.notify_all()
        if self._on_error is not None:
            self._on_error(failure)

    def flush_and_close(self, timeout: float = 30.0) -> PublishReport:
        """Send everything queued, wait until each record is acknowledged or failed (at
        most ``timeout`` seconds), close the producer and report."""
        deadline = time.monotonic() + timeout
        print(f"Flushing {self.pending} pending message(s)...")
        try:
            self.producer.flush(timeout=timeout)
        except KafkaError as error:  # KafkaTimeoutError: the broker did not answer in time
            print(f"✗ Flush timed out: {error}")
        with self._settled:
            self._settled.wait_for(
                lambda: self._pending == 0, timeout=max(0.0, deadline - time.monotonic())
            )
            report = PublishReport(self._delivered, list(self._failures), self._pending)
        self.producer.close(timeout=max(0.0, deadline - time.monotonic()))
        return report

    def close(self) -> None:
        """Same as :meth:`flush_and_close` (the report is discarded)."""
        self.flush_and_close()


def main() -> None:
    parser = cli_arguments("Publish order events without blocking on each acknowledgement.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--count", type=int, default=1000, help="events to publish")
    args = parser.parse_args()

    def report_error(failure: PublishFailure) -> None:
        print(f"✗ Not delivered to {failure.topic} (key {failure.key}): {failure.error!r}")

    publisher = AsyncOrderPublisher(
        connection_from_args(args), on_error=report_error
    )
    started = time.monotonic()
    for number in range(args.count):
        user_id = f"user_{number % 100:03d}"
        event = {
            "event_type": "order.created",
            "event_id": str(uuid.uuid4()),
            "timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),
            "data": {"order_id": f"order_{number}", "user_id": user_id, "total": 99.99},
        }
        publisher.publish(args.topic, event, key=user_id)
    report = publisher.flush_and_close()
    elapsed = time.monotonic() - started
    print(
        f"✓ {report.delivered} delivered, {len(report.failures)} failed, "
        f"{report.pending} unanswered, in {elapsed:.2f} s"
    )


if __name__ == "__main__":
    main()
