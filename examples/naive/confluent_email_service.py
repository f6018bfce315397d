"""NEGATIVE CONTROL, do not copy: the Email Service as a confluent-kafka poll loop is
often first written, with librdkafka's defaults.

``enable.auto.commit=true`` with ``enable.auto.offset.store=true`` (both librdkafka
defaults, CONFIGURATION.md): librdkafka stores a message's offset as soon as ``poll()``
hands it over, before the service has done anything with it, and commits what is stored
in the background and on ``close()``. A send that fails is logged and the loop goes on,
so the failed message's offset is committed with the next ones: after a restart that
email is never sent. :mod:`examples.order_system.confluent_email_service` stores an
offset only after its send (``enable.auto.offset.store=false`` + ``store_offsets``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer

from examples.order_system.email_service import SendEmail, email_for
from examples.order_system.runtime import ORDERS_TOPIC, StopWhen, from_json, run_loop


class NaiveConfluentEmailService:
    """poll, send, log the error and carry on; librdkafka stores and commits by itself."""

    def __init__(self, config: Mapping[str, Any], send_email: SendEmail,
                 topic: str = ORDERS_TOPIC) -> None:
        self.send_email = send_email
        self.consumer = Consumer(dict(config))  # librdkafka's commit defaults
        self.consumer.subscribe([topic])

    def run(self, until: StopWhen) -> int:
        return run_loop(self._step, until)

    def _step(self, timeout: float) -> int:
        message = self.consumer.poll(timeout)
        if message is None or message.error() is not None:
            return 0
        try:
            email = email_for(from_json(message.value() or b"null"))
            if email is not None:
                self.send_email(email)
        except Exception as exc:
            print(f"Error processing message: {exc!r}")  # ...and its offset is stored
        return 1

    def close(self) -> None:
        self.consumer.close()  # commits the stored offsets, the failed one's included
