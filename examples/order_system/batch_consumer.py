"""Production pattern 2: process records in batches, commit a batch only once it is done.

Each ``poll`` hands over up to ``batch_size`` records (``max_poll_records``) from any of
the assigned partitions; ``process_batch`` gets their values in one call (a bulk insert,
a bulk API call) and the offsets are committed only after it returns.

A failing batch is not skipped. Not committing is not enough for that: the consumer's
position has already moved past the batch, so the next ``poll`` would return the records
after it and the next commit would cover the failed batch too. Every partition of the
batch is therefore sought back to its first offset, so the same records come back (the
next batch may be cut differently, since ``poll`` fills it from whatever is fetched). After
``max_retries`` failed attempts in a row :class:`BatchFailed` is raised with nothing
committed: the batch stays in Kafka for the next run (or route the records one by one
through :mod:`examples.order_system.retry_dlq_consumer`).

Delivery is at-least-once: a crash after ``process_batch`` and before the commit, or a
batch that fails half-way, means records are processed again, so ``process_batch`` must
be idempotent (upserts, or see :mod:`examples.order_system.idempotent_consumer`). Keep a
batch's processing well under ``max_poll_interval_ms`` (5 minutes by default), or the
group considers the consumer dead and hands its partitions to another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer

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
)


class BatchFailed(RuntimeError):
    """A batch failed ``max_retries + 1`` times in a row; its offsets were not committed."""

    def __init__(self, first_offsets: dict[tuple[str, int], int], attempts: int) -> None:
        where = ", ".join(f"{t}[{p}]@{offset}" for (t, p), offset in first_offsets.items())
        super().__init__(f"batch starting at {where} failed {attempts} time(s); not committed")
        self.first_offsets = first_offsets
        self.attempts = attempts


class BatchConsumer:
    """Hand batches of event values to ``process_batch``; commit after, retry on failure."""

    def __init__(
        self,
        process_batch: Callable[[list[Any]], None],
        connection: Connection | None = None,
        *,
        topic: str = ORDERS_TOPIC,
        group_id: str = "batch-processor",
        batch_size: int = 100,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
    ) -> None:
        connection = connection or Connection()
        self.process_batch = process_batch
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self._failures = 0
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=batch_size,
            **connection.consumer_overrides,
        )

    def step(self, timeout: float) -> int:
        """Poll one batch, process it, commit it; return how many records were processed
        (0 when the batch failed and was sought back for another attempt)."""
        polled = poll_records(self.consumer, timeout)
        records = [record for batch in polled.values() for record in batch]
        if not records:
            return 0
        try:
            self.process_batch([from_json(record.value) for record in records])
        except Exception as error:
            first_offsets = {tp: batch[0].offset for tp, batch in polled.items() if batch}
            for tp, offset in first_offsets.items():
                self.consumer.seek(tp, offset)  # the same records come back next poll
            self._failures += 1
            if self._failures > self.max_retries:
                raise BatchFailed(
                    {(tp.topic, tp.partition): offset for tp, offset in first_offsets.items()},
                    self._failures,
                ) from error
            print(f"✗ Batch of {len(records)} failed ({error!r}); "
                  f"retry {self._failures}/{self.max_retries}")
            time.sleep(self.retry_backoff)
            return 0
        # The positions are just past this batch: commit() stores exactly those.
        commit_positions(self.consumer)
        self._failures = 0
        print(f"📦 Processed and committed a batch of {len(records)}")
        return len(records)

    def run(self, until: StopWhen | None = None) -> int:
        """Process batches until ``until`` says stop; return the records processed."""
        print(f"Batch processor started (batch_size={self.batch_size})")
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def print_orders(batch: list[Any]) -> None:
    """The guide's example batch step: one line per order (a bulk insert in real life)."""
    for event in batch:
        data = event.get("data", {}) if isinstance(event, dict) else {}
        print(f"   - Order: {data.get('order_id', 'N/A')}")


def main() -> None:
    parser = cli_arguments("Process order events in batches, committing after each batch.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--group-id", default="batch-processor")
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    consumer = BatchConsumer(
        print_orders,
        connection_from_args(args),
        topic=args.topic,
        group_id=args.group_id,
        batch_size=args.batch_size,
    )
    run_from_cli(consumer, args)


if __name__ == "__main__":
    main()
