"""NEGATIVE CONTROL -- the guide's batch consumer, kept alive with a try/except: don't copy.

The guide's ``BatchProcessor`` crashes on the first failing batch. The usual "fix" is the
one below: catch the error, log "will be retried", don't commit, keep polling. But the
consumer's position has already moved past the batch, so the next ``poll`` returns the
records after it, and the next successful commit covers the failed batch too: it is
never retried, it is lost. (The guide's email and idempotent consumers have the same
"don't commit -- will retry" comment and the same bug.) The correct version seeks back:
:mod:`examples.order_system.batch_consumer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer

from examples.order_system.runtime import ORDERS_TOPIC, Connection, StopWhen, from_json, run_loop


class NaiveBatchProcessor:
    def __init__(
        self,
        process_batch: Callable[[list[Any]], None],
        connection: Connection | None = None,
        *,
        topic: str = ORDERS_TOPIC,
        group_id: str = "batch-processor",
        batch_size: int = 100,
    ) -> None:
        connection = connection or Connection()
        self.process_batch = process_batch
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
        messages = self.consumer.poll(timeout_ms=int(timeout * 1000))
        batch = [from_json(record.value) for records in messages.values() for record in records]
        if not batch:
            return 0
        try:
            self.process_batch(batch)
            self.consumer.commit()
        except Exception as error:
            print(f"✗ Batch failed: {error} - will retry")  # BUG: nothing brings it back
        return len(batch)

    def run(self, until: StopWhen | None = None) -> int:
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        self.consumer.close(autocommit=False)
