"""Analytics Service: exact totals across a crash mid-batch and a restart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from examples.naive.analytics_service import NaiveAnalyticsService
from examples.order_system.analytics_service import AnalyticsService, Metrics, cents
from examples.order_system.order_service import OrderService
from examples.order_system.runtime import Connection, StopWhen, caught_up
from pytest_kafka_patterns import (
    assert_exactly_once_effect,
    assert_group_caught_up,
    eventually,
    order_id_of,
)

#: Order times spread over three hours, so orders_by_hour has something to show.
TIMES = [f"2025-03-01T{hour:02d}:{minute:02d}:00" for hour, minute in
         [(9, 5), (9, 40), (10, 0), (10, 15), (10, 59), (11, 30), (11, 31), (11, 45)]]


class Crash(BaseException):
    """The process dying: not an ``Exception``, so no retry handler catches it."""


@pytest.fixture
def connection(kafka_broker, redis_server, redis_client) -> Connection:
    """Where the services connect (``redis_client`` empties this test's database)."""
    return Connection(kafka_broker.bootstrap_servers, redis_server.url,
                      consumer_overrides=kafka_broker.consumer_defaults)


def publish_orders(connection: Connection, topic: str) -> list[dict[str, Any]]:
    """Eight orders by three users over three hours, plus status events (not counted)."""
    clock: Iterator[str] = iter(TIMES)
    service = OrderService(connection, topic, clock=lambda: next(clock, TIMES[-1]))
    try:
        orders = [
            service.create_order(f"user_{n % 3}", [
                {"product_id": "prod_1", "name": "Widget", "price": 19.99, "quantity": n + 1},
                {"product_id": "prod_2", "name": "Gadget", "price": 0.35, "quantity": 3},
            ])
            for n in range(len(TIMES))
        ]
        service.update_order_status(orders[0]["order_id"], "confirmed")
        return orders
    finally:
        service.close()


def expected_metrics(orders: list[dict[str, Any]]) -> Metrics:
    by_user: Counter[str] = Counter()
    for order in orders:
        by_user[order["user_id"]] += cents(order["total"])
    return Metrics(
        total_orders=len(orders),
        total_revenue_cents=sum(cents(order["total"]) for order in orders),
        orders_by_hour=dict(Counter(
            order["created_at"][:10] + " " + order["created_at"][11:13] + ":00" for order in orders
        )),
        revenue_by_user_cents=dict(by_user),
    )


def assert_metrics(actual: Metrics, orders: list[dict[str, Any]]) -> None:
    expected = expected_metrics(orders)
    assert actual == expected, f"metrics are off:\n  actual:   {actual}\n  expected: {expected}"


def crash_after(n: int, counted: list[str]) -> Callable[[Mapping[str, Any]], None]:
    """An ``on_counted`` hook: note the order, and crash once ``n`` are counted."""

    def hook(event: Mapping[str, Any]) -> None:
        counted.append(event["data"]["order_id"])
        if len(counted) == n:
            raise Crash(f"crashed after counting {n} order(s) of the batch")

    return hook


def test_a_crash_mid_batch_loses_and_double_counts_nothing_where_the_guides_loses_counts(
    connection, kafka_topic_factory, kafka_bootstrap_servers
):
    """One partition, nine events polled as one batch; the service crashes after counting
    three orders, shuts down, restarts. Both versions run side by side (own group, own
    Redis keys). Ours ends exact: the batch was not committed, comes again, and the
    three are recognised. The guide's auto-commit committed the whole batch on the way
    down: five orders are never counted."""
    topic = kafka_topic_factory("orders", partitions=1)
    orders = publish_orders(connection, topic)

    def crash_and_restart(make: Callable[..., Any]) -> tuple[list[str], Metrics]:
        counted: list[str] = []
        before = make(on_counted=crash_after(3, counted))
        try:
            with pytest.raises(Crash):
                before.run(StopWhen(idle_timeout=8))
        finally:
            before.close()  # as `finally: service.close()` in main() does
        after = make(on_counted=lambda event: counted.append(event["data"]["order_id"]))
        try:
            # ends once it has joined and stands at the end of the topic: after the batch
            # again (ours), or at once (the guide's, which committed it on the way down)
            after.run(StopWhen(idle_timeout=8, done=lambda: caught_up(after.consumer)))
            assert caught_up(after.consumer), "the restart never joined: nothing was tested"
            return counted, after.metrics()
        finally:
            after.close()

    group = f"analytics-{topic}"
    with ThreadPoolExecutor(2) as pool:
        ours = pool.submit(crash_and_restart, partial(AnalyticsService, connection, topic, group))
        guides = pool.submit(crash_and_restart, partial(
            NaiveAnalyticsService, connection, topic, f"naive-{group}", key_prefix="naive"))
        (ours_counted, ours_metrics), (guides_counted, guides_metrics) = (
            ours.result(), guides.result())

    assert_exactly_once_effect(ours_counted, orders, id_of=order_id_of, allow_extra=False)
    assert_metrics(ours_metrics, orders)
    eventually(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, topic))

    assert len(guides_counted) == 3
    with pytest.raises(AssertionError, match=r"5 of 8 event\(s\) without an effect"):
        assert_exactly_once_effect(guides_counted, orders, id_of=order_id_of, allow_extra=False)
    with pytest.raises(AssertionError, match="metrics are off"):
        assert_metrics(guides_metrics, orders)


def test_malformed_orders_are_skipped_and_counted_orders_add_up(
    connection, kafka_topic_factory, kafka_producer, redis_client
):
    topic = kafka_topic_factory("orders")
    orders = publish_orders(connection, topic)
    kafka_producer.send(topic, key="x", value={"event_type": "order.created",
                                              "event_id": "evt-bad", "data": {"order_id": "x"}})
    kafka_producer.flush()
    service = AnalyticsService(connection, topic, f"analytics-{topic}")
    try:
        assert service.run(StopWhen(max_messages=10, idle_timeout=8)) == 10
        assert_metrics(service.metrics(), orders)
        assert redis_client.smembers("analytics:skipped") == {b"evt-bad"}
    finally:
        service.close()
