"""Email Service: one email per order event, and a failed send is never skipped.

The sender is the service's external dependency, so the tests inject :class:`Outbox`, a
double that records what was sent and fails chosen events a chosen number of times.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import pytest

from examples.naive.email_service import NaiveEmailService
from examples.order_system.email_service import Email, EmailDeliveryError, EmailService
from examples.order_system.order_service import OrderService
from examples.order_system.runtime import Connection, StopWhen, caught_up
from pytest_kafka_patterns import assert_delivered, assert_group_caught_up, eventually

ITEMS = [
    {"product_id": "prod_1", "name": "Widget", "price": 29.99, "quantity": 2},
    {"product_id": "prod_2", "name": "Gadget", "price": 49.99, "quantity": 1},
]


class Outbox:
    """A ``send_email`` double: records sent emails; ``fail`` maps an event id to how
    many times its send raises first (as an SMTP server answering "try again later")."""

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


@pytest.fixture
def connection(kafka_broker) -> Connection:
    return Connection(kafka_broker.bootstrap_servers,
                      consumer_overrides=kafka_broker.consumer_defaults)


def publish_histories(connection: Connection, topic: str, users: Iterable[str],
                      statuses: tuple[str, ...] = ("confirmed", "shipped")) -> list[str]:
    """One order per user, then its status changes; returns the order ids."""
    orders = OrderService(connection, topic)
    try:
        order_ids = []
        for user in users:
            order_id = orders.create_order(user, ITEMS)["order_id"]
            for status in statuses:
                orders.update_order_status(order_id, status)
            order_ids.append(order_id)
        return order_ids
    finally:
        orders.close()


def test_one_email_per_event_in_order_with_a_failed_send_retried_in_place(
    connection, kafka_topic_factory, kafka_read, kafka_bootstrap_servers
):
    topic = kafka_topic_factory("orders")
    first, second = publish_histories(connection, topic, ["user_1", "user_2"])
    events = kafka_read(topic, min_records=6)
    confirmed = next(r.value["event_id"] for r in events
                     if r.value["data"].get("status") == "confirmed"
                     and r.value["data"]["order_id"] == first)
    outbox = Outbox(fail={confirmed: 2})  # fails twice, then the third attempt succeeds

    service = EmailService(connection, topic, f"email-{topic}", send_email=outbox,
                           max_attempts=3, retry_backoff=0)
    try:
        assert service.run(StopWhen(max_messages=6, idle_timeout=8)) == 6
    finally:
        service.close()

    assert_delivered(outbox.sent_ids, events, allow_extra=False)
    for order_id in (first, second):
        assert [(email.template, email.details.get("New Status")) for email in outbox.sent
                if email.order_id == order_id] == [
            ("order_confirmation", None), ("status_update", "confirmed"),
            ("status_update", "shipped")]
    assert outbox.sent[0].to in ("user_1", "user_2")
    eventually(lambda: assert_group_caught_up(kafka_bootstrap_servers, f"email-{topic}", topic))


def test_a_failed_send_is_redelivered_after_a_restart_where_the_guides_loses_it(
    connection, kafka_topic_factory, kafka_read
):
    """created, confirmed (its send fails once), shipped; then the service restarts.

    Both versions read the same events side by side, each in its own group. Ours stops
    at the failure (``max_attempts=1``) with the offset uncommitted and the restart sends
    it. The guide's logs it, sends "shipped", commits past "confirmed", and the restart
    has nothing left to send: that email is lost.
    """
    topic = kafka_topic_factory("orders")
    publish_histories(connection, topic, ["user_1"])
    events = kafka_read(topic, min_records=3)
    confirmed = events[1].value["event_id"]

    def ours() -> Outbox:
        outbox = Outbox(fail={confirmed: 1})
        group = f"email-{topic}"
        before = EmailService(connection, topic, group, send_email=outbox, max_attempts=1)
        try:
            with pytest.raises(EmailDeliveryError, match=r"failed 1 time\(s\)"):
                before.run(StopWhen(idle_timeout=8))
        finally:
            before.close()
        after = EmailService(connection, topic, group, send_email=outbox)  # the restart
        try:
            after.run(StopWhen(max_messages=2, idle_timeout=8))
        finally:
            after.close()
        return outbox

    def guides() -> Outbox:
        outbox = Outbox(fail={confirmed: 1})
        group = f"naive-email-{topic}"
        before = NaiveEmailService(connection, outbox, topic, group)
        try:
            before.run(StopWhen(max_messages=3, idle_timeout=8))
        finally:
            before.close()
        after = NaiveEmailService(connection, outbox, topic, group)  # the restart
        try:
            # ends once it has joined and stands at the end of the topic (nothing to send)
            after.run(StopWhen(idle_timeout=8, done=lambda: caught_up(after.consumer)))
            assert caught_up(after.consumer), "the restart never joined: nothing was tested"
        finally:
            after.close()
        return outbox

    with ThreadPoolExecutor(2) as pool:
        ours_sent, guides_sent = (future.result() for future in
                                  [pool.submit(ours), pool.submit(guides)])

    assert_delivered(ours_sent.sent_ids, events, allow_extra=False)
    with pytest.raises(AssertionError, match=r"1 of 3 expected event\(s\) missing"):
        assert_delivered(guides_sent.sent_ids, events, allow_extra=False)
