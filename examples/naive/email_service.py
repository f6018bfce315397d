"""NEGATIVE CONTROL, do not copy: the guide's Email Service, with its bug kept.

The guide commits after each successful email and, on an error, only logs ("don't
commit - message will be reprocessed"). But the consumer's position has already moved
past the failed message, so it is not reprocessed: the next message is, and its commit
covers the failed one too. After a restart the group starts beyond it: that email is
lost. ``examples/order_system/email_service.py`` seeks back instead.

Bounded (``run(until)``) and with an injectable sender so a test can show the loss.
"""

from __future__ import annotations

from kafka import KafkaConsumer

from examples.order_system.email_service import SendEmail, email_for
from examples.order_system.runtime import (
    ORDERS_TOPIC,
    Connection,
    StopWhen,
    from_json,
    offset_and_metadata,
    run_loop,
)


class NaiveEmailService:
    """The guide's loop: handle, commit on success, log and carry on on error."""

    def __init__(
        self,
        connection: Connection,
        send_email: SendEmail,
        topic: str = ORDERS_TOPIC,
        group_id: str = "email-service",
    ) -> None:
        self.send_email = send_email
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **connection.consumer_overrides,
        )

    def run(self, until: StopWhen) -> int:
        return run_loop(self._step, until)

    def _step(self, timeout: float) -> int:
        handled = 0
        for tp, records in self.consumer.poll(timeout_ms=int(timeout * 1000)).items():
            for record in records:
                handled += 1
                try:
                    email = email_for(from_json(record.value))
                    if email is not None:
                        self.send_email(email)
                    # Commit AFTER successful processing (as the guide says)...
                    self.consumer.commit({tp: offset_and_metadata(record.offset + 1)})
                except Exception as exc:
                    # ...but no seek back: the loop moves on, and the next commit
                    # covers this offset as well.
                    print(f"Error processing message: {exc!r}")
        return handled

    def close(self) -> None:
        self.consumer.close(autocommit=False)
