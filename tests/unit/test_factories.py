"""Order-event factories: the guide's shapes, traits, and reproducibility from a seed."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from decimal import Decimal

import factory.random
import pytest

from pytest_kafka_patterns.factories import (
    IN_STOCK_PRODUCTS,
    OUT_OF_STOCK_PRODUCT,
    InventoryFailedEventFactory,
    InventoryReservedEventFactory,
    InventoryResultEventFactory,
    OrderCreatedEventFactory,
    OrderFactory,
    OrderItemFactory,
    OrderStatusChangedEventFactory,
    dlq_entry,
    order_history,
    order_total,
)

ENVELOPE = {"event_type", "event_id", "timestamp", "data"}


def is_uuid4(text: str) -> bool:
    return str(uuid.UUID(text)) == text and uuid.UUID(text).version == 4


def test_order_created_envelope_and_order_shape() -> None:
    event = OrderCreatedEventFactory.build()
    assert set(event) == ENVELOPE
    assert event["event_type"] == "order.created"
    assert is_uuid4(event["event_id"])
    datetime.fromisoformat(event["timestamp"])
    order = event["data"]
    assert set(order) == {"order_id", "user_id", "items", "total", "status", "created_at"}
    assert re.fullmatch(r"order_[0-9a-f]{8}", order["order_id"])
    assert re.fullmatch(r"user_\d{3}", order["user_id"])
    assert order["status"] == "pending"
    assert 1 <= len(order["items"]) <= 3
    for item in order["items"]:
        assert set(item) == {"product_id", "name", "price", "quantity"}
        assert item["product_id"] in IN_STOCK_PRODUCTS
    assert json.loads(json.dumps(event)) == event  # JSON-ready, plain types


def test_total_is_sum_of_price_times_quantity_rounded_to_cents() -> None:
    items = [OrderItemFactory.build(price=29.99, quantity=2),
             OrderItemFactory.build(price=49.99, quantity=1),
             OrderItemFactory.build(price=0.1, quantity=3)]
    order = OrderFactory.build(items=items)
    assert order["total"] == 110.27
    for _ in range(50):
        order = OrderFactory.build()
        exact = sum(Decimal(str(i["price"])) * i["quantity"] for i in order["items"])
        assert Decimal(str(order["total"])) == exact.quantize(Decimal("0.01"))
    assert order_total([]) == 0.0


def test_order_for_a_given_user() -> None:
    event = OrderCreatedEventFactory.build(user_id="user_123")
    assert event["data"]["user_id"] == "user_123"
    assert OrderFactory.build(user_id="u")["user_id"] == "u"


def test_out_of_stock_traits() -> None:
    item = OrderItemFactory.build(out_of_stock=True)
    assert (item["product_id"], item["name"]) == OUT_OF_STOCK_PRODUCT
    items = OrderCreatedEventFactory.build(out_of_stock=True)["data"]["items"]
    assert items[-1]["product_id"] == OUT_OF_STOCK_PRODUCT[0]
    assert all(i["product_id"] in IN_STOCK_PRODUCTS for i in items[:-1])


def test_poison_event_is_a_well_formed_envelope_a_handler_rejects() -> None:
    event = OrderCreatedEventFactory.build(poison=True, user_id="user_7")
    assert set(event) == ENVELOPE and event["event_type"] == "order.created"
    assert event["data"]["user_id"] == "user_7"
    with pytest.raises(KeyError):
        _ = event["data"]["items"]  # what the guide's inventory handler does first
    with pytest.raises(KeyError):
        _ = event["data"]["total"]


def test_status_changed_and_inventory_events() -> None:
    created = OrderCreatedEventFactory.build()
    changed = OrderStatusChangedEventFactory.build(order=created, status="shipped")
    assert changed["event_type"] == "order.status_changed"
    assert set(changed["data"]) == {"order_id", "status", "updated_at"}
    assert changed["data"]["order_id"] == created["data"]["order_id"]
    assert changed["data"]["status"] == "shipped"
    assert changed["timestamp"] == changed["data"]["updated_at"] > created["timestamp"]
    reserved = InventoryReservedEventFactory.build(order=created["data"])
    failed = InventoryFailedEventFactory.build(order=created)
    assert reserved["event_type"] == "inventory.reserved"
    assert reserved["data"] == {"order_id": created["data"]["order_id"], "success": True}
    assert failed["event_type"] == "inventory.failed"
    assert failed["data"]["success"] is False
    assert InventoryResultEventFactory.build(success=False)["event_type"] == "inventory.failed"


def test_order_history_is_one_order_in_lifecycle_order() -> None:
    events = order_history(user_id="user_5", statuses=("confirmed", "shipped", "delivered"))
    assert [e["event_type"] for e in events] == ["order.created"] + ["order.status_changed"] * 3
    assert [e["data"].get("status") for e in events] == [
        "pending", "confirmed", "shipped", "delivered"]
    assert {e["data"]["order_id"] for e in events} == {events[0]["data"]["order_id"]}
    assert events[0]["data"]["user_id"] == "user_5"
    stamps = [datetime.fromisoformat(e["timestamp"]) for e in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert len({e["event_id"] for e in events}) == 4


def test_same_seed_same_events_including_uuids() -> None:
    def batch() -> list[object]:
        return [OrderCreatedEventFactory.build(), order_history(),
                OrderStatusChangedEventFactory.build(), InventoryFailedEventFactory.build()]

    factory.random.reseed_random(1234)
    first = batch()
    factory.random.reseed_random(1234)
    assert batch() == first
    factory.random.reseed_random(4321)
    assert batch() != first


def test_dlq_entry_has_the_guide_fields() -> None:
    event = OrderCreatedEventFactory.build(poison=True)
    entry = dlq_entry(event, error="KeyError: 'items'", retry_count=3)
    assert entry["event_id"] == event["event_id"]
    assert entry["_retry_count"] == 3
    assert entry["_error"] == "KeyError: 'items'"
    assert "Traceback" in entry["_traceback"]
