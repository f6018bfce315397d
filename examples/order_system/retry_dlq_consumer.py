"""Production pattern 3: retries through a retry topic that is consumed, then a DLQ.

One consumer reads both ``orders`` and ``orders.retry``. When the handler raises:

* fewer than ``max_retries`` retries so far: the event goes to ``orders.retry`` with
  ``_retry_count`` + 1 (value field and ``retry_count`` header), ``_last_error``, and a
  ``not_before`` header ``retry_delay`` seconds ahead. A retry record that is not yet due
  pauses its partition until it is (the main topic keeps flowing; the resumed partition
  is fetched once the fetch in flight returns, within ``fetch_max_wait_ms``);
* otherwise it goes to ``orders.dlq`` with ``_error``, ``_retry_count`` (= ``max_retries``)
  and ``_traceback``, plus ``error``/``retry_count``/``original_*`` headers.

A record that is not JSON can never succeed: it goes to the DLQ at once, as raw bytes.

What the guide's ``ResilientConsumer`` gets wrong: it writes to ``orders.retry`` but
nothing reads that topic, so a failed event is never retried and never reaches the DLQ;
it commits before the retry/DLQ write is acknowledged (``send()`` is not awaited), so a
crash there loses the event; and the retry/DLQ records lose the key.

Delivery is at-least-once: offsets are committed only after the handler succeeded or the
retry/DLQ record was acknowledged (``.get()``); if that produce fails, the partition is
sought back to the record and it is handled again. The handler may therefore see an event
more than once (pair it with :mod:`examples.order_system.idempotent_consumer`). Retrying
through a topic gives up per-key order: later events of the same key are handled while an
earlier one waits for its retry. If order matters, retry in place (seek back) instead.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    StopWhen,
    cli_arguments,
    commit_positions,
    connection_from_args,
    from_json,
    poll_records,
    run_from_cli,
    run_loop,
    to_json,
)

#: Value fields the consumer adds to a retried event (stripped before the handler sees it).
RETRY_FIELDS = ("_retry_count", "_last_error")


def header(record: Any, name: str) -> str | None:
    """The last header ``name`` of a record as text (Kafka keeps repeated headers in
    order; each retry appends one), or ``None`` when it is absent or null."""
    found: bytes | None = None
    for key, value in record.headers or ():
        if key == name:
            found = value
    return None if found is None else bytes(found).decode("utf-8", "replace")


class RetryingConsumer:
    """Handle events from ``topic`` and its retry topic; retry failures, then dead-letter."""

    def __init__(
        self,
        handler: Callable[[Any], None],
        connection: Connection | None = None,
        *,
        topic: str = ORDERS_TOPIC,
        group_id: str = "risky-processor",
        max_retries: int = 3,
        retry_delay: float = 5.0,
        retry_topic: str | None = None,
        dlq_topic: str | None = None,
    ) -> None:
        connection = connection or Connection()
        self.handler = handler
        self.topic = topic
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.retry_topic = retry_topic or f"{topic}.retry"
        self.dlq_topic = dlq_topic or f"{topic}.dlq"
        self.consumer = KafkaConsumer(
            topic,
            self.retry_topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **connection.consumer_overrides,
        )
        self.producer = KafkaProducer(
            bootstrap_servers=connection.bootstrap_servers,
            acks="all",
            **connection.producer_overrides,
        )
        self._paused: dict[TopicPartition, float] = {}  # retry partition -> resume at

    def step(self, timeout: float) -> int:
        """Poll once and handle what came; return how many records were handled."""
        self._resume_due()
        if self._paused:  # wake up in time for the first retry that falls due
            timeout = max(0.0, min(timeout, min(self._paused.values()) - time.time()))
        polled = poll_records(self.consumer, timeout)
        handled = 0
        for tp, records in polled.items():
            for record in records:
                due = float(header(record, "not_before") or 0)
                if due > time.time():  # a retry that must wait: hold its partition here
                    self.consumer.seek(tp, record.offset)
                    self.consumer.pause(tp)
                    self._paused[tp] = due
                    break
                try:
                    self._handle(record)
                except KafkaError as error:  # the retry/DLQ write failed: handle it again
                    print(f"✗ Could not route {tp.topic}[{tp.partition}]@{record.offset}: {error}")
                    self.consumer.seek(tp, record.offset)
                    break
                handled += 1
        if handled:
            # Positions are past each handled record and at each record sought back to.
            commit_positions(self.consumer)
        return handled

    def _resume_due(self) -> None:
        now = time.time()
        assigned = self.consumer.assignment()
        for tp, due in list(self._paused.items()):
            if due <= now or tp not in assigned:
                del self._paused[tp]
                if tp in assigned:
                    self.consumer.resume(tp)

    def _handle(self, record: Any) -> None:
        try:
            event = from_json(record.value)
        except ValueError as error:
            print(f"✗ Not JSON: {tp_of(record)} → DLQ")
            self._route(self.dlq_topic, record, record.value, error, 0)
            return
        retry_count = int(header(record, "retry_count") or 0)
        if isinstance(event, dict):
            retry_count = int(event.get("_retry_count", retry_count))
            event = {key: value for key, value in event.items() if key not in RETRY_FIELDS}
        try:
            self.handler(event)
        except Exception as error:
            if retry_count < self.max_retries:
                print(f"✗ {error!r} → retry {retry_count + 1}/{self.max_retries}")
                retried = {**event, "_retry_count": retry_count + 1, "_last_error": repr(error)}
                self._route(self.retry_topic, record, to_json(retried), error, retry_count + 1,
                            not_before=time.time() + self.retry_delay)
            else:
                print(f"✗ {error!r} after {retry_count} retries → Dead Letter Queue")
                dead = {**event, "_retry_count": retry_count, "_error": repr(error),
                        "_traceback": "".join(traceback.format_exception(error))}
                self._route(self.dlq_topic, record, to_json(dead), error, retry_count)

    def _route(
        self,
        topic: str,
        record: Any,
        value: bytes,
        error: BaseException,
        retry_count: int,
        not_before: float | None = None,
    ) -> None:
        """Write to the retry topic or the DLQ, keeping the key; wait for the broker's ack."""
        origin = header(record, "original_topic")
        headers = [
            ("error", repr(error).encode("utf-8")),
            ("retry_count", str(retry_count).encode("ascii")),
            ("original_topic", (origin or record.topic).encode("utf-8")),
            ("original_partition",
             (header(record, "original_partition") or str(record.partition)).encode("ascii")),
            ("original_offset",
             (header(record, "original_offset") or str(record.offset)).encode("ascii")),
        ]
        if not_before is not None:
            headers.append(("not_before", f"{not_before:.3f}".encode("ascii")))
        self.producer.send(topic, key=record.key, value=value, headers=headers).get(timeout=30)

    def run(self, until: StopWhen | None = None) -> int:
        """Handle records until ``until`` says stop; return how many were handled."""
        print(f"Starting resilient consumer for {self.topic} and {self.retry_topic}")
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.producer.close()


def tp_of(record: Any) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"


def risky_processor(failure_rate: float = 0.3) -> Callable[[Any], None]:
    """The guide's example handler: fails at random, like a flaky dependency."""

    def process(event: Any) -> None:
        if random.random() < failure_rate:
            raise RuntimeError("Random processing failure!")
        print(f"✓ Processed: {event.get('data', {}).get('order_id', 'N/A')}")

    return process


def main() -> None:
    parser = cli_arguments("Consume orders with retries through orders.retry, then a DLQ.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--group-id", default="risky-processor")
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--retry-delay", type=float, default=5.0)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    args = parser.parse_args()
    consumer = RetryingConsumer(
        risky_processor(args.failure_rate),
        connection_from_args(args),
        topic=args.topic,
        group_id=args.group_id,
        max_retries=args.max_retries,
        retry_delay=args.retry_delay,
    )
    run_from_cli(consumer, args)


if __name__ == "__main__":
    main()
