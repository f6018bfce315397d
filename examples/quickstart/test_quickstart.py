"""The smallest useful tests: publish order events, consume them, keep state in Redis.

Run with ``pytest examples/quickstart``; the broker and Redis start on their own.
"""

from __future__ import annotations

import json
import uuid


def publish_order(producer, topic: str, user_id: str, total: float) -> dict:
    """What the guide's order service does: an ``order.created`` event keyed by user."""
    event = {
        "event_type": "order.created",
        "event_id": str(uuid.uuid4()),
        "data": {"order_id": f"order_{uuid.uuid4().hex[:8]}", "user_id": user_id, "total": total},
    }
    producer.send(topic, key=user_id, value=event).get(timeout=10)
    return event


def test_consumer_sees_every_order_of_a_user_in_order(
    kafka_topic, kafka_producer, kafka_consumer_factory
):
    sent = [publish_order(kafka_producer, kafka_topic, "user_42", total) for total in (10, 20, 30)]

    consumer = kafka_consumer_factory(kafka_topic, group_id="email-service")
    received = [record for _, record in zip(range(3), consumer, strict=False)]

    assert [r.value["event_id"] for r in received] == [e["event_id"] for e in sent]
    assert {r.partition for r in received} == {received[0].partition}  # one key, one partition


def test_a_handler_records_charges_in_redis_once(
    kafka_topic, kafka_producer, kafka_consumer_factory, redis_client
):
    event = publish_order(kafka_producer, kafka_topic, "user_7", 99.5)
    kafka_producer.send(kafka_topic, key="user_7", value=event).get(timeout=10)  # redelivery

    consumer = kafka_consumer_factory(kafka_topic, group_id="payments")
    for _, record in zip(range(2), consumer, strict=False):
        event_id = record.value["event_id"]
        if redis_client.set(f"processed:{event_id}", 1, nx=True, ex=3600):
            redis_client.rpush("charges", json.dumps(record.value["data"]))

    assert redis_client.llen("charges") == 1
