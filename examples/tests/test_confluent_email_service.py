"""The Email Service written with confluent-kafka: one email per order event, a failed
send retried in place, and after a failure that outlasts the retries the restart begins
with the failed message (nothing committed past it)."""

from __future__ import annotations

import json

import pytest

from examples.naive.confluent_email_service import NaiveConfluentEmailService
from examples.order_system.confluent_email_service import ConfluentEmailService
from examples.order_system.confluent_runtime import caught_up
from examples.order_system.email_service import Email, EmailDeliveryError
from examples.order_system.runtime import StopWhen
from pytest_kafka_patterns import (
    assert_delivered,
    assert_group_caught_up,
    committed_offsets,
    eventually,
    order_history,
)
from pytest_kafka_patterns.confluent import consumer_config

pytest.importorskip("confluent_kafka")


class Outbox:
    """A ``send_email`` double: records sent emails; ``fail`` maps an event id to how
    many times its send raises first."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.sent: list[Email] = []
        self.failures = dict(fail or {})

    def __call__(self, email: Email) -> None:
        if self.failures.get(email.event_id, 0) > 0:
            self.failures[email.event_id] -= 1
            raise ConnectionError("421 service not available, try again later")
        self.sent.append(email)

    @property
    def sent_ids(self) -> list[str]:
        return [email.event_id for email in self.sent]


def publish(producer, topic, users):
    """Each user's order history (created, confirmed, shipped), keyed by user."""
    events = []
    for user in users:
        for event in order_history(user_id=user):  # one key: one partition, in order
            producer.produce(topic, key=user, value=json.dumps(event))
            events.append(event)
    assert producer.flush(10) == 0
    return events


def service(kafka_broker, topic, group, outbox, **options):
    return ConfluentEmailService(consumer_config(kafka_broker, group_id=group), topic,
                                 send_email=outbox, **options)


def test_one_email_per_event_with_a_failed_send_retried_in_place(
    kafka_broker, kafka_topic_factory, confluent_producer
):
    topic = kafka_topic_factory("orders")
    events = publish(confluent_producer, topic, ["user_1", "user_2"])
    confirmed = events[1]["event_id"]
    outbox = Outbox(fail={confirmed: 2})  # fails twice, the third attempt succeeds
    group = f"email-{topic}"
    emails = service(kafka_broker, topic, group, outbox, max_attempts=3, retry_backoff=0)
    try:
        assert emails.run(StopWhen(max_messages=6, idle_timeout=8)) == 6
    finally:
        emails.close()  # commits the stored offsets

    assert_delivered(outbox.sent_ids, events, allow_extra=False)
    order = events[0]["data"]["order_id"]
    assert [(e.template, e.details.get("New Status")) for e in outbox.sent
            if e.order_id == order] == [("order_confirmation", None),
                                        ("status_update", "confirmed"),
                                        ("status_update", "shipped")]
    eventually(lambda: assert_group_caught_up(kafka_broker.bootstrap_servers, group, topic))


def test_a_send_that_keeps_failing_is_the_first_message_after_the_restart(
    kafka_broker, kafka_topic_factory, confluent_producer
):
    topic = kafka_topic_factory("orders", partitions=1)
    events = publish(confluent_producer, topic, ["user_1"])  # offsets 0, 1, 2
    outbox = Outbox(fail={events[1]["event_id"]: 1})
    group = f"email-{topic}"

    before = service(kafka_broker, topic, group, outbox, max_attempts=1)
    try:
        with pytest.raises(EmailDeliveryError, match=rf"{topic}\[0\]@1: .* failed 1 time"):
            before.run(StopWhen(idle_timeout=8))
    finally:
        before.close()
    assert committed_offsets(kafka_broker.bootstrap_servers, group, topic) == {0: 1}, (
        "only the sent email's offset was committed")

    after = service(kafka_broker, topic, group, outbox)  # the restart
    try:
        assert after.run(StopWhen(max_messages=2, idle_timeout=8)) == 2
    finally:
        after.close()
    assert_delivered(outbox.sent_ids, events, allow_extra=False)
    eventually(lambda: assert_group_caught_up(kafka_broker.bootstrap_servers, group, topic))


def test_librdkafkas_default_offset_store_loses_the_failed_email_after_a_restart(
    kafka_broker, kafka_topic_factory, confluent_producer
):
    """The same events and the same failing send for both, each in its own group. Ours
    (previous test) sends all three; the naive loop with librdkafka's defaults logs the
    failure, its offset is stored and committed anyway, and the restart sends nothing."""
    topic = kafka_topic_factory("orders", partitions=1)
    events = publish(confluent_producer, topic, ["user_1"])
    outbox = Outbox(fail={events[1]["event_id"]: 1})
    group = f"naive-email-{topic}"
    for restart in (False, True):
        naive = NaiveConfluentEmailService(consumer_config(kafka_broker, group_id=group),
                                           outbox, topic)
        try:
            if restart:  # ends once it has joined and stands at the end of the topic
                naive.run(StopWhen(idle_timeout=8, done=lambda: caught_up(naive.consumer)))  # noqa: B023
                assert caught_up(naive.consumer), "the restart never joined: nothing was tested"
            else:
                naive.run(StopWhen(max_messages=3, idle_timeout=8))
        finally:
            naive.close()
    assert committed_offsets(kafka_broker.bootstrap_servers, group, topic) == {0: 3}
    with pytest.raises(AssertionError, match=r"1 of 3 expected event\(s\) missing"):
        assert_delivered(outbox.sent_ids, events, allow_extra=False)
