"""NEGATIVE CONTROL, do not copy: the guide's Inventory Service, with its race kept.

The guide checks every item's stock, then decrements every item: check-then-act. With
its stock in a dict each instance has its own inventory; put the stock where several
instances share it (Redis, as here) and two instances can both pass the check for the
last unit and both decrement it: stock goes negative, orders are oversold. It also
publishes the result without a key and without waiting for the acknowledgement, and
reserves again when an order is redelivered.

``between_check_and_act`` is called after the checks and before the decrements, so a
test can line two instances up at that point (the window a busy server opens by chance);
``on_reserved(event)`` after an order's stock was decremented.
``examples/order_system/inventory_service.py`` does both steps in one Lua script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import redis
from kafka import KafkaConsumer, KafkaProducer

from examples.order_system.runtime import (
    INVENTORY_TOPIC,
    ORDERS_TOPIC,
    Connection,
    StopWhen,
    from_json,
    run_loop,
    to_json,
)


class NaiveInventoryService:
    """The guide's reserve loop on shared (Redis) stock, stored as the correct one does."""

    def __init__(
        self,
        connection: Connection,
        orders_topic: str = ORDERS_TOPIC,
        inventory_topic: str = INVENTORY_TOPIC,
        group_id: str = "inventory-service",
        *,
        key_prefix: str = "inventory",
        between_check_and_act: Callable[[], None] = lambda: None,
        on_reserved: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.inventory_topic = inventory_topic
        self.stock_key = f"{key_prefix}:stock"
        self.between_check_and_act = between_check_and_act
        self.on_reserved = on_reserved
        self.redis = redis.Redis.from_url(connection.redis_url)
        self.producer = KafkaProducer(bootstrap_servers=connection.bootstrap_servers)
        self.consumer = KafkaConsumer(
            orders_topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
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
                    order = event["data"]
                    success = self._reserve_stock(order)
                    if success and self.on_reserved is not None:
                        self.on_reserved(event)
                    result = {
                        "event_type": "inventory.reserved" if success else "inventory.failed",
                        "data": {"order_id": order["order_id"], "success": success},
                    }
                    self.producer.send(self.inventory_topic, value=to_json(result))
                self.consumer.commit()
        return handled

    def _reserve_stock(self, order: Mapping[str, Any]) -> bool:
        for item in order["items"]:  # check...
            available = int(self.redis.hget(self.stock_key, item["product_id"]) or 0)
            if available < item["quantity"]:
                return False
        self.between_check_and_act()
        for item in order["items"]:  # ...then act: the stock may have changed meanwhile
            self.redis.hincrby(self.stock_key, item["product_id"], -item["quantity"])
        return True

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.producer.flush()
        self.producer.close()
        self.redis.close()
