"""NEGATIVE CONTROL, do not copy: the guide's Analytics Service, with auto-commit kept.

The guide lets the consumer auto-commit (``enable_auto_commit=True``). kafka-python
commits the positions ``poll()`` handed out, counted or not: on a later poll once the
interval passed, and on ``close()``. When counting fails mid-batch (the handler raises,
the service shuts down through its ``finally: close()``), the rest of the batch is
committed uncounted; the restarted service starts after it: those orders are missing
from the totals for good. Its increments are also not idempotent, so a redelivery
would count twice. ``examples/order_system/analytics_service.py`` commits after
counting and counts each event id once.

Stored in Redis under the same keys as the correct service, so their metrics compare.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import redis
from kafka import KafkaConsumer

from examples.order_system.analytics_service import (
    Metrics,
    cents,
    hour_of,
    metric_keys,
    read_metrics,
)
from examples.order_system.runtime import ORDERS_TOPIC, Connection, StopWhen, from_json, run_loop


class NaiveAnalyticsService:
    """The guide's loop: auto-commit, increment per event, no dedup."""

    def __init__(
        self,
        connection: Connection,
        topic: str = ORDERS_TOPIC,
        group_id: str = "analytics-service",
        *,
        key_prefix: str = "analytics",
        on_counted: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.keys = metric_keys(key_prefix)
        self.on_counted = on_counted
        self.redis = redis.Redis.from_url(connection.redis_url)
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=True,  # the bug: commits what was fetched, not what was counted
            **connection.consumer_overrides,
        )

    def run(self, until: StopWhen) -> int:
        return run_loop(self._step, until)

    def _step(self, timeout: float) -> int:
        handled = 0
        for records in self.consumer.poll(timeout_ms=int(timeout * 1000)).values():
            for record in records:
                handled += 1
                event = from_json(record.value)
                if event.get("event_type") == "order.created":
                    self._track_order(event["data"])
                    if self.on_counted is not None:
                        self.on_counted(event)
        return handled

    def _track_order(self, order: Mapping[str, Any]) -> None:
        revenue = cents(order["total"])
        _, totals, by_hour, by_user = self.keys
        self.redis.hincrby(totals, "orders", 1)
        self.redis.hincrby(totals, "revenue_cents", revenue)
        self.redis.hincrby(by_hour, hour_of(order["created_at"]), 1)
        self.redis.hincrby(by_user, order["user_id"], revenue)

    def metrics(self) -> Metrics:
        return read_metrics(self.redis, self.keys)

    def close(self) -> None:
        self.consumer.close()  # with auto-commit on, this commits the consumed positions
        self.redis.close()
