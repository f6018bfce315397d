"""Order Service: creates orders and publishes their events to Kafka (the producer).

Every event uses the guide's envelope ``{event_type, event_id, timestamp, data}``:

* ``order.created``: ``data`` is the order ``{order_id, user_id, items, total, status,
  created_at}``;
* ``order.status_changed``: ``data`` is ``{order_id, status, updated_at}``.

What differs from the guide, and why:

* **One key per order.** The guide keys ``order.created`` by ``user_id`` but
  ``order.status_changed`` by ``order_id``: two keys usually hash to two partitions, so
  a consumer can see "shipped" before "created". Here *every* event of an order is keyed
  by its ``order_id`` (see :meth:`OrderService.partition_key`), so one order's history
  lives in one partition, in the order it was published.
* **Publish errors surface.** Each event is sent with ``acks="all"`` and waited for; a
  failure raises :class:`PublishError` instead of being logged and forgotten, so the
  caller (the API answering the customer) knows the order was not announced.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    cli_arguments,
    connection_from_args,
    key_bytes,
    to_json,
)

ORDER_CREATED = "order.created"
ORDER_STATUS_CHANGED = "order.status_changed"


class PublishError(RuntimeError):
    """Kafka did not acknowledge an event (the broker refused it or the wait timed out)."""


def utc_now() -> str:
    """Naive-UTC ISO-8601, as the guide's ``datetime.utcnow().isoformat()``."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()


def new_order_id() -> str:
    """``order_`` + 8 hex digits, as in the guide."""
    return f"order_{uuid.uuid4().hex[:8]}"


def order_total(items: Sequence[Mapping[str, Any]]) -> float:
    """Sum of price x quantity, rounded to cents (in Decimal: no float drift)."""
    total = sum(
        (Decimal(str(item["price"])) * int(item["quantity"]) for item in items), Decimal()
    )
    return float(total.quantize(Decimal("0.01")))


def validate_items(items: Sequence[Mapping[str, Any]]) -> None:
    """Reject an order the other services could not handle (``ValueError``)."""
    if not items:
        raise ValueError("an order needs at least one item")
    for item in items:
        missing = {"product_id", "price", "quantity"} - set(item)
        if missing:
            raise ValueError(f"item {dict(item)!r} lacks {sorted(missing)}")
        if int(item["quantity"]) <= 0 or Decimal(str(item["price"])) < 0:
            raise ValueError(f"item {dict(item)!r} needs quantity > 0 and price >= 0")


class OrderService:
    """Creates orders and publishes ``order.created`` / ``order.status_changed``.

    ``new_order_id`` and ``clock`` are injectable so a test can choose ids and times.
    """

    def __init__(
        self,
        connection: Connection | None = None,
        topic: str = ORDERS_TOPIC,
        *,
        publish_timeout: float = 10.0,
        new_order_id: Callable[[], str] = new_order_id,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        connection = connection or Connection()
        self.topic = topic
        self.publish_timeout = publish_timeout
        self._new_order_id = new_order_id
        self._clock = clock
        self.producer = KafkaProducer(
            bootstrap_servers=connection.bootstrap_servers,
            acks="all",  # the leader waits for every in-sync replica
            # Retries bounded by time, not by count (the guide's retries=3): a new leader
            # takes seconds to elect, and on kafka-python 2.2 three retries 200 ms apart
            # ran out first ("socket disconnected": tests/integration/test_cluster.py).
            delivery_timeout_ms=60_000,  # above request_timeout_ms (30 s) + linger_ms
            retry_backoff_ms=200,
            # One request in flight: a retried batch cannot overtake the next one, so
            # per-key order holds even if a caller stops waiting for each send.
            max_in_flight_requests_per_connection=1,
            **connection.producer_overrides,
        )

    def create_order(self, user_id: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Validate, (save,) and announce an order; return it.

        Raises ``ValueError`` for an invalid order and :class:`PublishError` when Kafka
        does not acknowledge the event.
        """
        validate_items(items)
        order = {
            "order_id": self._new_order_id(),
            "user_id": user_id,
            "items": [dict(item) for item in items],
            "total": order_total(items),
            "status": "pending",
            "created_at": self._clock(),
        }
        # A real service saves the order first; to never announce an order that was not
        # saved (or save one never announced), write both in one transaction: an outbox.
        self.publish(ORDER_CREATED, order)
        return order

    def update_order_status(self, order_id: str, status: str) -> dict[str, Any]:
        """Announce an order's new status; return the event's data."""
        data = {"order_id": order_id, "status": status, "updated_at": self._clock()}
        self.publish(ORDER_STATUS_CHANGED, data)
        return data

    def partition_key(self, event_type: str, data: Mapping[str, Any]) -> str:
        """The key of every event of an order: its ``order_id``.

        Kafka orders records per partition only, and a key picks the partition. Keying
        all of an order's events by ``order_id`` keeps its history (created, confirmed,
        shipped) in one partition, in publish order, and ``update_order_status`` needs
        nothing but the order id to find that key. ``user_id`` would also keep an order
        together if status events carried it, but would order a user's *unrelated*
        orders too (no consumer here needs that) and pile a big customer's traffic onto
        one partition.
        """
        return str(data["order_id"])

    def publish(self, event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Send one event in the envelope and wait for the broker's acknowledgement."""
        event = {
            "event_type": event_type,
            "event_id": str(uuid.uuid4()),
            "timestamp": self._clock(),
            "data": dict(data),
        }
        key = self.partition_key(event_type, data)
        try:
            future = self.producer.send(self.topic, key=key_bytes(key), value=to_json(event))
            metadata = future.get(timeout=self.publish_timeout)
        except KafkaError as exc:
            print(f"✗ Failed to publish {event_type} for {key}: {exc!r}")
            raise PublishError(f"{event_type} for {key} not acknowledged: {exc!r}") from exc
        print(f"✓ Published {event_type} to {self.topic}[{metadata.partition}] "
              f"@ offset {metadata.offset} (key {key})")
        return event

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()


def main() -> None:
    """Publish the guide's demo: one order for ``user_123``, then its status changes."""
    parser = cli_arguments("Create a demo order and publish its events.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--user-id", default="user_123")
    parser.add_argument("--statuses", nargs="*", default=["confirmed"],
                        help="status changes to publish after creating the order")
    args = parser.parse_args()
    service = OrderService(connection_from_args(args), args.topic)
    try:
        order = service.create_order(
            user_id=args.user_id,
            items=[
                {"product_id": "prod_1", "name": "Widget", "price": 29.99, "quantity": 2},
                {"product_id": "prod_2", "name": "Gadget", "price": 49.99, "quantity": 1},
            ],
        )
        print(f"Created order: {order['order_id']} (total ${order['total']:.2f})")
        for status in args.statuses:
            service.update_order_status(order["order_id"], status)
    finally:
        service.close()


if __name__ == "__main__":
    main()
