"""Email Service written with confluent-kafka: the same service as
:mod:`examples.order_system.email_service`, in the idiom librdkafka's users write.

The loop is ``poll()`` one message at a time. Offsets are *stored* by hand and committed
by librdkafka: ``enable.auto.offset.store=false`` keeps librdkafka from storing an
offset when it hands a message over, the service calls ``store_offsets(message)`` only
after that message's email was sent, and ``enable.auto.commit=true`` commits the stored
offsets in the background (every ``auto.commit.interval.ms``) and on ``close()``
(librdkafka CONFIGURATION.md; Confluent's "at-least-once" consumer recipe).

Delivery: **at least once**. Only offsets of sent emails are ever committed, so nothing
is skipped; a crash re-sends the emails sent since the last background commit (up to
``auto.commit.interval.ms`` worth, 5 s by default): each :class:`~.email_service.Email`
carries the event's ``event_id`` as the provider's idempotency key for that.

Failure policy, as the kafka-python service: a failed send is retried in place
(``max_attempts`` in total, with a growing pause between attempts); if it keeps failing,
:meth:`ConfluentEmailService.run` raises :class:`~.email_service.EmailDeliveryError` with
the message's offset not stored, so ``close()`` commits up to the message before it and
the restarted service starts at the failed message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message

from .email_service import GROUP_ID, EmailDeliveryError, SendEmail, email_for, print_email
from .runtime import ORDERS_TOPIC, StopWhen, from_json, run_loop


def consumer_settings(bootstrap_servers: str, group_id: str = GROUP_ID,
                      **config: Any) -> dict[str, Any]:
    """librdkafka properties for :class:`ConfluentEmailService`: earliest for a new group,
    then ``config`` (a test passes its broker's tuned group timings here). The offset
    handling (manual store, background commit) is the service's and cannot be overridden."""
    return {"bootstrap.servers": bootstrap_servers, "group.id": group_id,
            "auto.offset.reset": "earliest", **config}


class ConfluentEmailService:
    """Consumes order events with a ``confluent_kafka.Consumer`` and sends one email each
    (see the module docstring). ``config``: librdkafka properties, at least
    ``bootstrap.servers`` and ``group.id`` (see :func:`consumer_settings`)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        topic: str = ORDERS_TOPIC,
        *,
        send_email: SendEmail = print_email,
        max_attempts: int = 3,
        retry_backoff: float = 0.5,
    ) -> None:
        self.send_email = send_email
        self.max_attempts = max(1, max_attempts)
        self.retry_backoff = retry_backoff
        self.consumer = Consumer({
            **config,
            "enable.auto.commit": True,        # librdkafka commits what we stored...
            "enable.auto.offset.store": False,  # ...and we store only after the send
        })
        self.consumer.subscribe([topic])

    def run(self, until: StopWhen | None = None) -> int:
        """Process messages until ``until`` says stop; return how many were handled.

        Raises :class:`EmailDeliveryError` when a message fails ``max_attempts`` times.
        """
        print("Email Service (confluent-kafka) started. Waiting for order events...")
        return run_loop(self._step, until or StopWhen())

    def _step(self, timeout: float) -> int:
        message = self.consumer.poll(timeout)
        if message is None:
            return 0
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return 0
            raise KafkaException(error)
        self._handle(message)
        self.consumer.store_offsets(message=message)  # sent: this offset may be committed
        return 1

    def _handle(self, message: Message) -> None:
        where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
        email = email_for(from_json(message.value() or b"null"))
        if email is None:
            print(f"Skipping {where}: not an email")
            return
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.send_email(email)
                return
            except Exception as exc:
                if attempt == self.max_attempts:
                    raise EmailDeliveryError(
                        f"{where}: sending {email.template} for {email.order_id} failed "
                        f"{attempt} time(s), last with {exc!r}; its offset is not stored, "
                        "so a restart begins with it"
                    ) from exc
                print(f"✗ {where}: {exc!r} - attempt {attempt} of {self.max_attempts}")
                time.sleep(self.retry_backoff * attempt)

    def close(self) -> None:
        """Commit the stored offsets (sent emails only) and leave the group."""
        self.consumer.close()
