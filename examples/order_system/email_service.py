"""Email Service: one email per order event (consumer group ``email-service``).

``order.created`` -> an order confirmation, ``order.status_changed`` -> a status update;
other event types are skipped. Sending is a callable you inject (:data:`SendEmail`):
:func:`print_email` by default, your provider's client in production, a recording double
in tests.

Delivery: **at least once**. The offset of a message is committed only after its email
was sent, one message at a time, so a crash re-sends at most the email in flight. Each
:class:`Email` carries the event's ``event_id``: pass it to your provider as the
idempotency key and a re-send becomes a no-op there (effectively once).

Failure policy: a failed send does **not** move the service past the message. The
consumer seeks back to it and tries again (``max_attempts`` in total, with a growing
pause); if it still fails, :meth:`EmailService.run` raises :class:`EmailDeliveryError`
with the offset left uncommitted, so the restarted service starts at that very message.
Nothing is skipped silently. (The guide's version logs the error and moves on: its next
commit, after a later message, skips the failed one for good; see
``examples/naive/email_service.py``.) An event that can never be sent (malformed) would
stop the service every time: route such poison to a dead-letter topic (guide, pattern 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    RetryInPlace,
    StopWhen,
    cli_arguments,
    connection_from_args,
    from_json,
    handle_and_commit_each,
    run_from_cli,
    run_loop,
)

GROUP_ID = "email-service"


@dataclass(frozen=True)
class Email:
    """What to send. ``to`` is the user; status events carry none (look it up by order)."""

    event_id: str
    """The source event's id: the idempotency key for the email provider."""
    template: str
    """``order_confirmation`` or ``status_update``."""
    order_id: str
    to: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


SendEmail = Callable[[Email], None]
"""Sends one email, raising on failure (the service then retries the same message)."""


class EmailDeliveryError(RuntimeError):
    """A message kept failing; the service stopped with its offset uncommitted."""


def print_email(email: Email) -> None:
    """The guide's "send": print the email."""
    print(f"\n📧 Sending {email.template.replace('_', ' ')} email:")
    print(f"   To: {email.to or '(customer of ' + email.order_id + ')'}")
    print(f"   Order: {email.order_id}")
    for name, value in email.details.items():
        print(f"   {name}: {value}")


def email_for(event: Mapping[str, Any]) -> Email | None:
    """The email an event asks for, ``None`` for event types this service ignores.

    Raises ``KeyError``/``TypeError`` on a malformed event.
    """
    event_type = event.get("event_type")
    data = event["data"]
    if event_type == "order.created":
        return Email(
            event_id=event["event_id"],
            template="order_confirmation",
            order_id=data["order_id"],
            to=data["user_id"],
            details={"Total": f"${data['total']:.2f}", "Items": f"{len(data['items'])} items"},
        )
    if event_type == "order.status_changed":
        return Email(
            event_id=event["event_id"],
            template="status_update",
            order_id=data["order_id"],
            to=data.get("user_id"),
            details={"New Status": data["status"]},
        )
    return None


class EmailService:
    """Consumes order events and sends one email each (see the module docstring)."""

    def __init__(
        self,
        connection: Connection | None = None,
        topic: str = ORDERS_TOPIC,
        group_id: str = GROUP_ID,
        *,
        send_email: SendEmail = print_email,
        max_attempts: int = 3,
        retry_backoff: float = 0.5,
    ) -> None:
        connection = connection or Connection()
        self.send_email = send_email
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,  # we commit each message after its email is sent
            **connection.consumer_overrides,
        )
        self.retry = RetryInPlace(self.consumer, EmailDeliveryError, max_attempts, retry_backoff)

    def run(self, until: StopWhen | None = None) -> int:
        """Process messages until ``until`` says stop; return how many were handled.

        Raises :class:`EmailDeliveryError` when a message fails ``max_attempts`` times.
        """
        print("Email Service started. Waiting for order events...")
        return run_loop(self._step, until or StopWhen())

    def _step(self, timeout: float) -> int:
        return handle_and_commit_each(self.consumer, self.retry, self._handle, timeout)

    def _handle(self, record: ConsumerRecord) -> None:
        email = email_for(from_json(record.value))
        if email is None:
            print(f"Skipping {record.topic}[{record.partition}]@{record.offset}: not an email")
        else:
            self.send_email(email)

    def close(self) -> None:
        """Leave the group without committing anything (all commits are explicit)."""
        self.consumer.close(autocommit=False)


def main() -> None:
    parser = cli_arguments("Send an email for every order event.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--group-id", default=GROUP_ID)
    parser.add_argument("--max-attempts", type=int, default=3)
    args = parser.parse_args()
    service = EmailService(
        connection_from_args(args),
        args.topic,
        args.group_id,
        max_attempts=args.max_attempts,
    )
    handled = run_from_cli(service, args)
    if handled is None:
        print("Email Service interrupted.")
    else:
        print(f"Email Service stopped after {handled} message(s).")


if __name__ == "__main__":
    main()
