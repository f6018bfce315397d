"""Pattern 1, the async publisher: every record is acknowledged or reported, none lost."""

from __future__ import annotations

from kafka.errors import MessageSizeTooLargeError

from examples.order_system.async_publisher import AsyncOrderPublisher, PublishFailure
from examples.order_system.runtime import Connection
from pytest_kafka_patterns import assert_delivered, assert_ordered_by_key


def test_a_thousand_events_land_once_in_order_per_key(
    kafka_broker, kafka_topic_factory, kafka_read, order_event_factory
):
    topic = kafka_topic_factory("orders")
    events = [order_event_factory.build(user_id=f"user_{n % 10:03d}") for n in range(1000)]
    acknowledged = []
    publisher = AsyncOrderPublisher(
        Connection(bootstrap_servers=kafka_broker.bootstrap_servers),
        on_success=acknowledged.append,
    )

    for event in events:
        publisher.publish(topic, event, key=event["data"]["user_id"])
    report = publisher.flush_and_close()

    assert (report.delivered, report.failures, report.pending) == (1000, [], 0)
    assert publisher.pending == 0 and len(acknowledged) == 1000
    records = kafka_read(topic, min_records=1000)
    assert_delivered(records, events, allow_extra=False)
    assert_ordered_by_key(records, expected=events)


def test_a_record_send_rejects_is_reported_not_lost(
    kafka_broker, kafka_topic_factory, kafka_read, order_event_factory
):
    topic = kafka_topic_factory("orders")
    small = order_event_factory.build_batch(3)
    huge = order_event_factory.build()
    huge["data"]["note"] = "x" * 4096  # over the producer's max_request_size
    reported: list[PublishFailure] = []
    publisher = AsyncOrderPublisher(
        Connection(
            bootstrap_servers=kafka_broker.bootstrap_servers,
            producer_overrides={"max_request_size": 2048},
        ),
        on_error=reported.append,
    )
    futures = [publisher.publish(topic, event) for event in [small[0], huge, *small[1:]]]
    report = publisher.flush_and_close()

    assert report.pending == 0 and publisher.pending == 0  # the guide's counter stays at 1
    assert report.delivered == 3
    assert [f.value["event_id"] for f in report.failures] == [huge["event_id"]]
    assert reported == report.failures == publisher.failures
    assert isinstance(reported[0].error, MessageSizeTooLargeError)
    assert futures[1].failed() and all(f.succeeded() for f in [futures[0], *futures[2:]])
    assert_delivered(kafka_read(topic, min_records=3), small, allow_extra=False)
