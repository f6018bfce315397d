"""The guide's "Running the Full System", as one test.

Terminals 2-4 become three threads (email, inventory, analytics: three consumer groups
on the same orders topic); terminal 5, the order service, publishes while they run.
Every service must react to every event it cares about, and every group must end caught up.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from examples.order_system.analytics_service import AnalyticsService, cents
from examples.order_system.email_service import Email, EmailService
from examples.order_system.inventory_service import GUIDE_STOCK, InventoryService
from examples.order_system.order_service import OrderService
from examples.order_system.runtime import Connection, StopWhen
from pytest_kafka_patterns import (
    assert_delivered,
    assert_group_caught_up,
    eventually,
    order_id_of,
)

WIDGET = {"product_id": "prod_1", "name": "Widget", "price": 29.99, "quantity": 2}
GADGET = {"product_id": "prod_2", "name": "Gadget", "price": 49.99, "quantity": 1}
DOOHICKEY = {"product_id": "prod_3", "name": "Doohickey", "price": 5.00, "quantity": 1}


@pytest.fixture
def connection(kafka_broker, redis_server, redis_client) -> Connection:
    """Where the services connect (``redis_client`` empties this test's database)."""
    return Connection(kafka_broker.bootstrap_servers, redis_server.url,
                      consumer_overrides=kafka_broker.consumer_defaults)


def test_every_service_reacts_to_the_same_order_events(
    connection, kafka_topic_factory, kafka_read, kafka_bootstrap_servers
):
    orders_topic = kafka_topic_factory("orders")
    inventory_topic = kafka_topic_factory("inventory")
    groups = {name: f"{name}-{orders_topic}" for name in ("email", "inventory", "analytics")}
    expected_events = 3 + 3  # three orders, three status changes

    sent: list[Email] = []
    inventory = InventoryService(connection, orders_topic, inventory_topic, groups["inventory"])
    inventory.seed_stock(GUIDE_STOCK)
    services: list[Any] = [
        EmailService(connection, orders_topic, groups["email"], send_email=sent.append),
        inventory,
        AnalyticsService(connection, orders_topic, groups["analytics"]),
    ]
    errors: list[BaseException] = []

    def run(service: Any) -> None:
        try:
            service.run(StopWhen(max_messages=expected_events, idle_timeout=15))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(service,), daemon=True)
               for service in services]
    try:
        for thread in threads:
            thread.start()
        publisher = OrderService(connection, orders_topic)
        try:
            orders = [
                publisher.create_order("user_123", [WIDGET, GADGET]),
                publisher.create_order("user_456", [GADGET]),
                publisher.create_order("user_789", [WIDGET, DOOHICKEY]),  # prod_3: none left
            ]
            publisher.update_order_status(orders[0]["order_id"], "confirmed")
            publisher.update_order_status(orders[1]["order_id"], "confirmed")
            publisher.update_order_status(orders[0]["order_id"], "shipped")
        finally:
            publisher.close()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
        assert not any(thread.is_alive() for thread in threads)
        stock = inventory.stock()
        metrics = services[2].metrics()
    finally:
        for service in services:
            service.close()

    events = kafka_read(orders_topic, min_records=expected_events)
    # Email: one email per event, created or status change.
    assert_delivered([email.event_id for email in sent], events, allow_extra=False)
    # Inventory: one answer per order, keyed by it; the order with prod_3 failed whole.
    results = kafka_read(inventory_topic, min_records=3)
    assert_delivered(results, orders, id_of=order_id_of, allow_extra=False)
    assert {r.key: r.value["event_type"] for r in results} == {
        orders[0]["order_id"]: "inventory.reserved",
        orders[1]["order_id"]: "inventory.reserved",
        orders[2]["order_id"]: "inventory.failed",
    }
    assert stock == {"prod_1": 98, "prod_2": 48, "prod_3": 0}
    # Analytics: every order counted once.
    assert metrics.total_orders == 3
    assert metrics.total_revenue_cents == sum(cents(order["total"]) for order in orders)
    assert metrics.revenue_by_user_cents == {
        order["user_id"]: cents(order["total"]) for order in orders}
    # And every group has committed everything it read.
    for group in groups.values():
        eventually(lambda group=group: assert_group_caught_up(
            kafka_bootstrap_servers, group, orders_topic))
