"""Analytics Service: order metrics in Redis, exact under redelivery and crashes.

Consumes ``order.created`` (group ``analytics-service``) and keeps, in Redis: total
orders, total revenue, orders per hour (of ``created_at``) and revenue per user. Money is
counted in integer cents, so totals are exact.

Delivery is **at least once**, the aggregation **idempotent**, the effect **exactly
once**: one Lua script (:data:`COUNT_SCRIPT`) adds the event's id to a set of counted
ids and, only if it was new, increments every metric, all as one atomic step. Offsets
are committed after a polled batch has been counted (per partition). A crash mid-batch
leaves the batch uncommitted; after the restart it is redelivered, the events counted
before the crash are recognised by their ids and skipped, the rest are counted. Nothing
lost, nothing counted twice.

The guide auto-commits instead: the offsets ``poll()`` handed out are committed whether
or not they were counted (on a later poll, or on ``close()``), so a crash mid-batch loses
the rest of the batch; see ``examples/naive/analytics_service.py``.

Failure policy: a failing count (Redis unavailable) seeks back and retries the message
(``max_attempts`` in total), then raises :class:`AnalyticsError` with the offset
uncommitted. A malformed ``order.created`` cannot be counted by retrying: it is skipped
with a log line and its ``event_id`` is added to a ``skipped`` set for inspection. (A
record that is not a JSON event at all fails like an outage: route such poison to a
dead-letter topic, guide pattern 3.)

The set of counted ids grows with every order; for a long-lived topic, keep one set per
day (``...:counted:<day>``) and expire it after the topic's retention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis
from kafka import KafkaConsumer

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    RetryInPlace,
    StopWhen,
    cli_arguments,
    commit_partition,
    connection_from_args,
    from_json,
    poll_records,
    rewind_unhandled,
    run_loop,
)

GROUP_ID = "analytics-service"

#: KEYS: counted ids (set), totals (hash), orders by hour (hash), revenue by user (hash),
#: optionally a journal list (gets each event id as it is counted).
#: ARGV: event_id, revenue in cents, hour, user_id. Returns 1 if counted now, 0 if before.
COUNT_SCRIPT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'orders', 1)
redis.call('HINCRBY', KEYS[2], 'revenue_cents', ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('HINCRBY', KEYS[4], ARGV[4], ARGV[2])
if KEYS[5] then redis.call('RPUSH', KEYS[5], ARGV[1]) end
return 1
"""


class AnalyticsError(RuntimeError):
    """A message kept failing; the service stopped with its offset uncommitted."""


@dataclass(frozen=True)
class Metrics:
    """The dashboard. Revenue in cents (exact); :attr:`total_revenue` in currency units."""

    total_orders: int
    total_revenue_cents: int
    orders_by_hour: dict[str, int]
    revenue_by_user_cents: dict[str, int]

    @property
    def total_revenue(self) -> Decimal:
        return Decimal(self.total_revenue_cents) / 100

    @property
    def average_order_value(self) -> Decimal:
        return self.total_revenue / self.total_orders if self.total_orders else Decimal(0)


def cents(amount: Any) -> int:
    """An amount (float or str, in currency units) in integer cents, rounded half-even."""
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def hour_of(created_at: str) -> str:
    """``2025-01-01 13:00`` for ``2025-01-01T13:45:12``, as the guide buckets orders."""
    return datetime.fromisoformat(created_at).strftime("%Y-%m-%d %H:00")


def metric_keys(key_prefix: str) -> list[str]:
    """Redis keys: counted ids (set), totals, orders by hour, revenue by user (hashes)."""
    return [f"{key_prefix}:{name}"
            for name in ("counted", "totals", "orders_by_hour", "revenue_by_user")]


def read_metrics(client: redis.Redis, keys: list[str]) -> Metrics:
    """The metrics stored under ``keys`` (see :func:`metric_keys`)."""
    totals = client.hgetall(keys[1])

    def ints(key: str) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in client.hgetall(key).items()}

    return Metrics(
        total_orders=int(totals.get(b"orders", 0)),
        total_revenue_cents=int(totals.get(b"revenue_cents", 0)),
        orders_by_hour=ints(keys[2]),
        revenue_by_user_cents=ints(keys[3]),
    )


def print_dashboard(metrics: Metrics) -> None:
    print("\n📊 Analytics Dashboard:")
    print(f"   Total Orders: {metrics.total_orders}")
    print(f"   Total Revenue: ${metrics.total_revenue:.2f}")
    print(f"   Avg Order Value: ${metrics.average_order_value:.2f}")


class AnalyticsService:
    """Counts each ``order.created`` exactly once into Redis (see the module docstring).

    ``on_counted(event)`` is called after an event was counted for the first time (a
    hook for logs or tests, e.g. to simulate a crash at a chosen point).
    """

    def __init__(
        self,
        connection: Connection | None = None,
        topic: str = ORDERS_TOPIC,
        group_id: str = GROUP_ID,
        *,
        key_prefix: str = "analytics",
        max_records: int = 500,
        max_attempts: int = 3,
        retry_backoff: float = 0.5,
        on_counted: Callable[[Mapping[str, Any]], None] | None = None,
        journal_key: str | None = None,
    ) -> None:
        connection = connection or Connection()
        self.keys = metric_keys(key_prefix)
        self.journal_key = journal_key
        self.skipped_key = f"{key_prefix}:skipped"
        self.max_records = max_records
        self.on_counted = on_counted
        self.redis = redis.Redis.from_url(connection.redis_url)
        self._count = self.redis.register_script(COUNT_SCRIPT)
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,  # commit what was counted, after counting it
            **connection.consumer_overrides,
        )
        self.retry = RetryInPlace(self.consumer, AnalyticsError, max_attempts, retry_backoff)

    def count(self, event: Mapping[str, Any]) -> bool:
        """Count an ``order.created`` unless its ``event_id`` was counted before;
        ``True`` if counted now. ``KeyError``/``ValueError`` on a malformed event.
        With a ``journal_key``, the same step appends the id to that Redis list."""
        order = event["data"]
        args = [event["event_id"], cents(order["total"]), hour_of(order["created_at"]),
                order["user_id"]]
        keys = [*self.keys, self.journal_key] if self.journal_key else self.keys
        return bool(self._count(keys=keys, args=args))

    def metrics(self) -> Metrics:
        """The metrics as Redis has them now."""
        return read_metrics(self.redis, self.keys)

    def run(self, until: StopWhen | None = None) -> int:
        """Process messages until ``until`` says stop; return how many were handled.

        Raises :class:`AnalyticsError` when a message fails ``max_attempts`` times.
        """
        print("Analytics Service started. Tracking order metrics...")
        return run_loop(self._step, until or StopWhen())

    def _step(self, timeout: float) -> int:
        handled = 0
        counted = False
        batches = poll_records(self.consumer, timeout, self.max_records)
        for tp, records in batches.items():
            done = None  # the next offset to commit on this partition
            for record in records:
                try:
                    counted = self._handle(from_json(record.value)) or counted
                except Exception as exc:
                    if done is not None:
                        commit_partition(self.consumer, tp, done)
                    self.retry.failed(tp, record.offset, exc)
                    done = None
                    break  # this partition's later records come again after the seek
                self.retry.succeeded(tp, record.offset)
                done = record.offset + 1
                handled += 1
            if done is not None and not commit_partition(self.consumer, tp, done):
                rewind_unhandled(self.consumer, batches, tp, done)
                return handled
        if counted:
            self.print_metrics()
        return handled

    def _handle(self, event: Mapping[str, Any]) -> bool:
        if event.get("event_type") != "order.created":
            return False
        try:
            counted = self.count(event)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            print(f"✗ Skipping malformed order.created {event.get('event_id')}: {exc!r}")
            self.redis.sadd(self.skipped_key, str(event.get("event_id")))
            return False
        if counted and self.on_counted is not None:
            self.on_counted(event)
        return counted

    def print_metrics(self) -> None:
        print_dashboard(self.metrics())

    def close(self) -> None:
        """Leave the group without committing: only counted batches are ever committed."""
        self.consumer.close(autocommit=False)
        self.redis.close()


def main() -> None:
    parser = cli_arguments("Track order metrics in Redis.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--group-id", default=GROUP_ID)
    args = parser.parse_args()
    service = AnalyticsService(
        connection_from_args(args),
        args.topic,
        args.group_id,
    )
    try:
        handled = service.run(StopWhen(args.max_messages, args.idle_timeout))
        print(f"Analytics Service stopped after {handled} message(s).")
        service.print_metrics()
    except KeyboardInterrupt:
        print("Analytics Service interrupted.")
    finally:
        service.close()


if __name__ == "__main__":
    main()
