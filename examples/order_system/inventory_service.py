"""Inventory Service: reserves stock for new orders and announces the outcome.

Consumes ``order.created`` (group ``inventory-service``), reserves every item's quantity
in Redis, and publishes ``inventory.reserved`` or ``inventory.failed`` (the guide's
envelope; ``data = {order_id, success}`` plus ``reason`` on failure) to the inventory
topic, keyed by ``order_id``. Other event types are skipped.

Why it is safe with several instances and redeliveries:

* **Atomic, all-or-nothing.** One Lua script (:data:`RESERVE_SCRIPT`) checks every item
  and then decrements every item. Redis runs a script as one step, so no other
  instance can act between the check and the decrement: stock never goes below zero.
  (The guide checks a dict, then decrements it: two instances sharing stock both pass
  the check and oversell; see ``examples/naive/inventory_service.py``.)
* **Idempotent per order.** The same script records the order's outcome in a hash and
  answers a repeated order with the recorded outcome, without touching stock. A
  redelivered ``order.created`` therefore reserves nothing twice (effectively once).
* **Commit after the acknowledgement.** The offset is committed only after the broker
  acknowledged the result event. A crash in between redelivers the order; the script
  replays its outcome and the result is published again with the *same* ``event_id``
  (derived from the order id), so consumers of the inventory topic can drop the
  duplicate: the result topic is at-least-once, the stock change exactly-once.

Failure policy: a failing step (Redis or Kafka unavailable) seeks back to the message
and retries it (``max_attempts`` in total), then raises :class:`InventoryError` with the
offset uncommitted. An order that cannot be reserved because it is malformed is answered
with ``inventory.failed`` (reason ``invalid order``), not retried; one without an
``order_id`` has nobody to answer and is skipped with a log line. (A record that is not
a JSON event at all fails like an outage: route such poison to a dead-letter topic.)
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis
from kafka import KafkaConsumer, KafkaProducer

from .runtime import (
    INVENTORY_TOPIC,
    ORDERS_TOPIC,
    Connection,
    RetryInPlace,
    StopWhen,
    cli_arguments,
    connection_from_args,
    from_json,
    handle_and_commit_each,
    key_bytes,
    run_loop,
    to_json,
)

GROUP_ID = "inventory-service"
#: The guide's starting inventory (``--seed-stock`` loads it).
GUIDE_STOCK = {"prod_1": 100, "prod_2": 50, "prod_3": 0}
#: Namespace for result event ids: one stable id per order, however often it is answered.
RESULT_ID_NAMESPACE = uuid.UUID("5a0e0c1e-8d5c-4f3e-9a57-1f0e0b6c1a11")

#: KEYS[1]: stock hash (product_id -> units); KEYS[2]: outcomes hash (order_id -> outcome);
#: KEYS[3] (optional): journal list, gets ARGV[2] once per decided order.
#: ARGV[1]: order_id; ARGV[2]: the deciding event's id; then product_id, quantity pairs.
#: Returns {outcome, replayed}: outcome is "reserved" or "failed:<reason>".
RESERVE_SCRIPT = """
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous then return {previous, 1} end
local outcome = 'reserved'
for i = 3, #ARGV, 2 do
  local have = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if have < tonumber(ARGV[i + 1]) then
    outcome = 'failed:' .. ARGV[i] .. ' needs ' .. ARGV[i + 1] .. ', has ' .. have
    break
  end
end
if outcome == 'reserved' then
  for i = 3, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
  end
end
redis.call('HSET', KEYS[2], ARGV[1], outcome)
if KEYS[3] then redis.call('RPUSH', KEYS[3], ARGV[2]) end
return {outcome, 0}
"""


class InventoryError(RuntimeError):
    """A message kept failing; the service stopped with its offset uncommitted."""


class InvalidOrder(ValueError):
    """An ``order.created`` whose items cannot be reserved (missing or malformed)."""


@dataclass(frozen=True)
class Reservation:
    """The outcome for one order. ``replayed``: recorded earlier, stock untouched now."""

    order_id: str
    success: bool
    reason: str = ""
    replayed: bool = False


def quantities(order: Mapping[str, Any]) -> Counter[str]:
    """Units wanted per product (an item listed twice counts twice); ``InvalidOrder``
    when items are missing or a quantity is not a positive integer."""
    try:
        wanted: Counter[str] = Counter()
        for item in order["items"]:
            quantity = int(item["quantity"])
            if quantity <= 0:
                raise ValueError(f"quantity {quantity}")
            wanted[str(item["product_id"])] += quantity
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidOrder(f"invalid order: {exc!r}") from exc
    if not wanted:
        raise InvalidOrder("invalid order: no items")
    return wanted


def result_event(reservation: Reservation) -> dict[str, Any]:
    """``inventory.reserved`` / ``inventory.failed`` with an id stable per order."""
    data: dict[str, Any] = {"order_id": reservation.order_id, "success": reservation.success}
    if reservation.reason:
        data["reason"] = reservation.reason
    return {
        "event_type": "inventory.reserved" if reservation.success else "inventory.failed",
        "event_id": str(uuid.uuid5(RESULT_ID_NAMESPACE, reservation.order_id)),
        "timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),
        "data": data,
    }


class InventoryService:
    """Reserves stock per ``order.created`` and publishes the outcome (see module doc)."""

    def __init__(
        self,
        connection: Connection | None = None,
        orders_topic: str = ORDERS_TOPIC,
        inventory_topic: str = INVENTORY_TOPIC,
        group_id: str = GROUP_ID,
        *,
        key_prefix: str = "inventory",
        max_attempts: int = 3,
        retry_backoff: float = 0.5,
        publish_timeout: float = 10.0,
        journal_key: str | None = None,
    ) -> None:
        connection = connection or Connection()
        self.inventory_topic = inventory_topic
        self.stock_key = f"{key_prefix}:stock"
        self.outcomes_key = f"{key_prefix}:reservations"
        self.journal_key = journal_key
        self.publish_timeout = publish_timeout
        self.redis = redis.Redis.from_url(connection.redis_url)
        self._reserve = self.redis.register_script(RESERVE_SCRIPT)
        self.producer = KafkaProducer(
            bootstrap_servers=connection.bootstrap_servers,
            acks="all",
            retries=3,
            max_in_flight_requests_per_connection=1,
            **connection.producer_overrides,
        )
        self.consumer = KafkaConsumer(
            orders_topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,  # commit after the result event is acknowledged
            **connection.consumer_overrides,
        )
        self.retry = RetryInPlace(self.consumer, InventoryError, max_attempts, retry_backoff)

    def seed_stock(self, stock: Mapping[str, int], *, replace: bool = False) -> None:
        """Set units per product; without ``replace``, products already stocked keep theirs."""
        for product_id, units in stock.items():
            if replace:
                self.redis.hset(self.stock_key, product_id, int(units))
            else:
                self.redis.hsetnx(self.stock_key, product_id, int(units))

    def stock(self) -> dict[str, int]:
        """Units per product, as Redis has them now."""
        raw = self.redis.hgetall(self.stock_key)
        return {key.decode(): int(value) for key, value in raw.items()}

    def reserve(self, order: Mapping[str, Any], event_id: str | None = None) -> Reservation:
        """Reserve all of an order's items or none (atomic, idempotent per order id).

        With a ``journal_key``, the same step appends ``event_id`` (default: the order id)
        to that Redis list when it decides the order: an audit trail of decisions, one
        entry per order however often it is delivered.
        """
        order_id = str(order["order_id"])
        try:
            wanted = quantities(order)
        except InvalidOrder as exc:
            return Reservation(order_id, False, str(exc))
        args: list[Any] = [order_id, event_id or order_id]
        for product_id, quantity in sorted(wanted.items()):
            args += [product_id, quantity]
        keys = [self.stock_key, self.outcomes_key]
        if self.journal_key:
            keys.append(self.journal_key)
        raw_outcome, replayed = self._reserve(keys=keys, args=args)
        outcome = raw_outcome.decode() if isinstance(raw_outcome, bytes) else str(raw_outcome)
        success = outcome == "reserved"
        reason = "" if success else outcome.removeprefix("failed:")
        return Reservation(order_id, success, reason, bool(replayed))

    def run(self, until: StopWhen | None = None) -> int:
        """Process messages until ``until`` says stop; return how many were handled.

        Raises :class:`InventoryError` when a message fails ``max_attempts`` times.
        """
        print("Inventory Service started. Waiting for order events...")
        return run_loop(self._step, until or StopWhen())

    def _step(self, timeout: float) -> int:
        return handle_and_commit_each(
            self.consumer, self.retry, lambda record: self._handle(from_json(record.value)),
            timeout,
        )

    def _handle(self, event: Mapping[str, Any]) -> None:
        if event.get("event_type") != "order.created":
            return
        if not event["data"].get("order_id"):
            print(f"✗ order.created {event.get('event_id')} has no order_id: nothing to answer")
            return
        reservation = self.reserve(event["data"], event.get("event_id"))
        self._report(reservation)
        result = result_event(reservation)
        future = self.producer.send(
            self.inventory_topic, key=key_bytes(reservation.order_id), value=to_json(result)
        )
        future.get(timeout=self.publish_timeout)  # raises if not acknowledged: no commit

    @staticmethod
    def _report(reservation: Reservation) -> None:
        mark = "✓" if reservation.success else "✗"
        verdict = "reserved" if reservation.success else f"FAILED ({reservation.reason})"
        again = " (already answered; replaying)" if reservation.replayed else ""
        print(f"\n📦 {mark} Order {reservation.order_id}: {verdict}{again}")

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.producer.flush()
        self.producer.close()
        self.redis.close()


def main() -> None:
    parser = cli_arguments("Reserve stock for new orders and publish the outcome.")
    parser.add_argument("--orders-topic", default=ORDERS_TOPIC)
    parser.add_argument("--inventory-topic", default=INVENTORY_TOPIC)
    parser.add_argument("--group-id", default=GROUP_ID)
    parser.add_argument("--seed-stock", action="store_true",
                        help=f"stock products that have none yet: {GUIDE_STOCK}")
    args = parser.parse_args()
    service = InventoryService(
        connection_from_args(args),
        args.orders_topic,
        args.inventory_topic,
        args.group_id,
    )
    try:
        if args.seed_stock:
            service.seed_stock(GUIDE_STOCK)
        print(f"Stock: {service.stock()}")
        handled = service.run(StopWhen(args.max_messages, args.idle_timeout))
        print(f"Inventory Service stopped after {handled} message(s). Stock: {service.stock()}")
    except KeyboardInterrupt:
        print("Inventory Service interrupted.")
    finally:
        service.close()


if __name__ == "__main__":
    main()
