"""Order Service: the guide's envelope, one key per order, publish errors raised."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import count
from typing import Any

import pytest
from kafka.partitioner.default import murmur2

from examples.order_system.order_service import ORDER_CREATED, OrderService, PublishError
from examples.order_system.runtime import Connection
from pytest_kafka_patterns import assert_delivered, assert_ordered_by_key, order_id_of

ITEMS = [
    {"product_id": "prod_1", "name": "Widget", "price": 29.99, "quantity": 2},
    {"product_id": "prod_2", "name": "Gadget", "price": 49.99, "quantity": 1},
]
STATUSES = ("confirmed", "shipped", "delivered")


class RecordingOrderService(OrderService):
    """Keeps every published event, in publish order (what the assertions compare to)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[dict[str, Any]] = []

    def publish(self, event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        event = super().publish(event_type, data)
        self.published.append(event)
        return event


class GuideKeyedOrderService(RecordingOrderService):
    """The guide's keys: ``order.created`` by user_id, ``order.status_changed`` by order_id."""

    def partition_key(self, event_type: str, data: Mapping[str, Any]) -> str:
        return str(data["user_id"] if event_type == ORDER_CREATED else data["order_id"])


def partition_of(key: str, partitions: int) -> int:
    """The partition kafka-python's default partitioner picks for ``key``."""
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions


def order_ids_away_from(user_ids: list[str], partitions: int) -> Iterator[str]:
    """For each user, an order id that hashes to another partition than the user id
    (so the guide's two keys split that order deterministically)."""
    candidates = (f"order_{n:08x}" for n in count())
    for user_id in user_ids:
        yield next(order_id for order_id in candidates
                   if partition_of(order_id, partitions) != partition_of(user_id, partitions))


@pytest.fixture
def connection(kafka_broker) -> Connection:
    return Connection(kafka_broker.bootstrap_servers)


def publish_interleaved(service: OrderService, users: list[str]) -> None:
    """Create one order per user, then move all of them through STATUSES, round-robin."""
    order_ids = [service.create_order(user, ITEMS)["order_id"] for user in users]
    for status in STATUSES:
        for order_id in order_ids:
            service.update_order_status(order_id, status)


def test_events_use_the_guides_envelope_and_every_event_of_an_order_shares_its_key(
    connection, kafka_topic_factory, kafka_read
):
    topic = kafka_topic_factory("orders", partitions=3)
    service = RecordingOrderService(connection, topic)
    try:
        publish_interleaved(service, ["user_1", "user_2", "user_3", "user_4"])
    finally:
        service.close()

    records = kafka_read(topic, min_records=16)
    assert_delivered(records, service.published, allow_extra=False)
    assert all(set(r.value) == {"event_type", "event_id", "timestamp", "data"} for r in records)
    assert all(r.key == r.value["data"]["order_id"] for r in records)
    created = [r.value["data"] for r in records if r.value["event_type"] == ORDER_CREATED]
    assert {order["total"] for order in created} == {109.97}
    assert {order["status"] for order in created} == {"pending"}
    # Per order: one partition, and created -> confirmed -> shipped -> delivered by offset.
    assert_ordered_by_key(records, key_of=order_id_of, expected=service.published)


def test_the_guides_keying_splits_an_orders_history_over_partitions(
    connection, kafka_topic_factory, kafka_read
):
    """Negative control: keyed as in the guide, an order's created event and its status
    events land in different partitions, and the ordering assertion says so."""
    topic = kafka_topic_factory("orders", partitions=3)
    users = ["user_1", "user_2"]
    service = GuideKeyedOrderService(
        connection, topic, new_order_id=order_ids_away_from(users, 3).__next__
    )
    try:
        publish_interleaved(service, users)
    finally:
        service.close()

    records = kafka_read(topic, min_records=8)
    assert_delivered(records, service.published, allow_extra=False)
    with pytest.raises(AssertionError, match=r"2 key\(s\) spread over several partitions"):
        assert_ordered_by_key(records, key_of=order_id_of, expected=service.published)


def test_a_publish_the_broker_refuses_raises(connection, kafka_topic_factory, kafka_read):
    topic = kafka_topic_factory("orders")
    tiny = Connection(connection.bootstrap_servers, producer_overrides={"max_request_size": 64})
    service = OrderService(tiny, topic)
    try:
        with pytest.raises(PublishError, match=r"order\.created for order_\w+ not acknowledged"):
            service.create_order("user_1", ITEMS)
    finally:
        service.close()
    assert kafka_read(topic) == []


def test_an_invalid_order_is_rejected_before_anything_is_published(connection, kafka_topic):
    service = OrderService(connection, kafka_topic)
    try:
        with pytest.raises(ValueError, match="at least one item"):
            service.create_order("user_1", [])
        with pytest.raises(ValueError, match="quantity > 0"):
            service.create_order("user_1", [{**ITEMS[0], "quantity": 0}])
    finally:
        service.close()
