"""The orders API on the real embedded broker: POST -> an acknowledged order.created event,
bad input -> 422 and nothing published, Kafka down -> 503 quickly."""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import TYPE_CHECKING

import psutil
import pytest
from aiokafka.errors import KafkaConnectionError
from kafka import KafkaAdminClient

from examples.order_system.runtime import Connection
from pytest_kafka_patterns import assert_delivered, order_id_of
from pytest_kafka_patterns.backends import embedded
from pytest_kafka_patterns.config import KafkaSettings
from pytest_kafka_patterns.ports import free_port
from pytest_kafka_patterns.topics import create_topic

ORDER = {
    "user_id": "user_123",
    "items": [
        {"product_id": "prod_1", "name": "Widget", "price": 29.99, "quantity": 2},
        {"product_id": "prod_2", "name": "Gadget", "price": 49.99, "quantity": 1},
    ],
}


if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI


@pytest.fixture(scope="module")
def web() -> ModuleType:
    """The orders API (``examples.order_system.web``), imported when a test here first
    runs, not at collection: FastAPI and httpx take ~0.5 s of CPU to import, and every
    pytest-xdist worker collects every test module, so a module-level import would
    charge it to each worker, not only to the one that runs these tests."""
    return importlib.import_module("examples.order_system.web")


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``app`` with its lifespan running (the producer started)."""
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
            yield client


def kill_broker(port: int) -> None:
    """SIGKILL the broker listening on ``port`` (a crash: no graceful shutdown)."""
    brokers = [child for child in psutil.Process().children(recursive=True)
               if f"127.0.0.1:{port}" in " ".join(child.cmdline())]
    assert brokers, f"no broker process on port {port}"
    for broker in brokers:
        broker.kill()
        broker.wait(5)


@pytest.mark.asyncio
async def test_post_order_publishes_order_created(
    web, kafka_broker, kafka_topic_factory, kafka_read, kafka_expect_no_more
) -> None:
    topic = kafka_topic_factory("web-orders")
    app = web.create_app(Connection(bootstrap_servers=kafka_broker.bootstrap_servers), topic=topic)
    async with serving(app) as client:
        response = await client.post("/orders", json=ORDER)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "created" and body["order_id"].startswith("order_")

        records = kafka_read(topic, min_records=1)
        assert_delivered(records, [body["order_id"]], id_of=order_id_of, allow_extra=False)
        (record,) = records
        assert web.ORDER_EVENT_KEY_FIELD == "order_id" and record.key == body["order_id"]
        event = record.value
        assert event["event_type"] == "order.created" and event["event_id"]
        assert event["data"]["total"] == 109.97  # exact cents, not 109.97000000000001
        assert event["data"]["user_id"] == "user_123" and event["data"]["status"] == "pending"

        invalid = [
            {"user_id": "user_123"},  # no items
            {**ORDER, "items": []},
            {**ORDER, "items": [{**ORDER["items"][0], "quantity": 0}]},
            {**ORDER, "items": [{**ORDER["items"][0], "price": -1}]},
        ]
        for payload in invalid:
            assert (await client.post("/orders", json=payload)).status_code == 422, payload
        kafka_expect_no_more(topic, after=records, within=0.3)


@pytest.mark.asyncio
async def test_kafka_down_answers_503_quickly(web, tmp_path) -> None:
    running = embedded.start_kafka(KafkaSettings(backend="embedded"), tmp_path)
    try:
        bootstrap = running.info.bootstrap_servers
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            create_topic(admin, "orders", partitions=1)
        finally:
            admin.close()
        connection = Connection(bootstrap_servers=bootstrap,
                                producer_overrides={"request_timeout_ms": 1000})
        async with serving(web.create_app(connection)) as client:
            assert (await client.post("/orders", json=ORDER)).status_code == 201
            kill_broker(int(bootstrap.rsplit(":", 1)[1]))  # it crashes while the app runs

            started = time.monotonic()
            response = await client.post("/orders", json=ORDER)
            elapsed = time.monotonic() - started
    finally:
        running.stop()
    assert response.status_code == 503, response.text
    assert "Kafka did not confirm" in response.json()["detail"]
    assert response.headers["Retry-After"]
    assert elapsed < 5


@pytest.mark.asyncio
async def test_unreachable_broker_at_startup_stops_the_app(web) -> None:
    app = web.create_app(Connection(bootstrap_servers=f"127.0.0.1:{free_port()}"))
    started = time.monotonic()
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        async with serving(app):
            pass
    assert time.monotonic() - started < 5
