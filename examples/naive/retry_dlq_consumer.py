"""NEGATIVE CONTROL -- the guide's ``ResilientConsumer`` in spirit: don't copy.

It sends a failed event to ``<topic>.retry`` with ``_retry_count`` + 1, but it only
subscribes to ``<topic>``: nothing ever reads the retry topic. A failed event is
therefore never retried (a transient failure is never processed) and never reaches the
DLQ (the DLQ branch needs ``_retry_count == max_retries``, which only a retried event can
have). It also commits without waiting for the retry/DLQ write to be acknowledged. The
correct version: :mod:`examples.order_system.retry_dlq_consumer`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from examples.order_system.runtime import (
    ORDERS_TOPIC,
    Connection,
    StopWhen,
    from_json,
    run_loop,
    to_json,
)


class NaiveResilientConsumer:
    def __init__(
        self,
        handler: Callable[[Any], None],
        connection: Connection | None = None,
        *,
        topic: str = ORDERS_TOPIC,
        group_id: str = "risky-processor",
        max_retries: int = 3,
        retry_topic: str | None = None,
        dlq_topic: str | None = None,
    ) -> None:
        connection = connection or Connection()
        self.handler = handler
        self.max_retries = max_retries
        self.retry_topic = retry_topic or f"{topic}.retry"
        self.dlq_topic = dlq_topic or f"{topic}.dlq"
        self.consumer = KafkaConsumer(  # BUG: subscribed to the main topic only
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **connection.consumer_overrides,
        )
        self.producer = KafkaProducer(bootstrap_servers=connection.bootstrap_servers)

    def step(self, timeout: float) -> int:
        polled = self.consumer.poll(timeout_ms=int(timeout * 1000))
        handled = 0
        for records in polled.values():
            for message in records:
                event = from_json(message.value)
                retry_count = event.get("_retry_count", 0)
                try:
                    self.handler(event)
                except Exception as e:
                    if retry_count < self.max_retries:
                        event["_retry_count"] = retry_count + 1
                        event["_last_error"] = str(e)
                        self.producer.send(self.retry_topic, value=to_json(event))  # never read
                    else:
                        event["_error"] = str(e)
                        event["_traceback"] = traceback.format_exc()
                        self.producer.send(self.dlq_topic, value=to_json(event))
                self.consumer.commit()  # BUG: before the send above is acknowledged
                handled += 1
        return handled

    def run(self, until: StopWhen | None = None) -> int:
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.producer.close()
