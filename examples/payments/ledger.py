"""The payments team's ledger: books captured and refunded payments on account balances.

Nothing to do with orders: it reads ``payments`` events shaped by the payments team's own
schemas (``schemas/``)::

    {"type": "payment.captured",
     "meta": {"message_id": "4f1c...", "occurred_at": "2026-01-01T00:00:00Z"},
     "payment_id": "pay_0001abcd", "account_id": "acc_42", "amount_cents": 1250,
     "currency": "EUR"}

keyed by ``account_id`` (one account's events stay in order on one partition), each
message identified by ``meta.message_id``. ``payment.captured`` credits the account,
``payment.refunded`` debits it, ``payment.authorized`` books nothing.

Effectively once: Kafka delivers at least once (a crash between the booking and the
offset commit replays the message), so the booking is claimed by message id in the same
Lua script that changes the balance: a replayed message finds its claim and books
nothing. A message whose booking fails is read again (seek back to it), never skipped.
Its consumer contract is ``examples/contracts/payments_ledger.contract.json``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import redis
from kafka import KafkaConsumer
from kafka.errors import KafkaError

#: What each event type does to its account's balance (per cent of ``amount_cents``).
SIGN = {"payment.captured": +1, "payment.refunded": -1}
#: How long a claim is kept: longer than any replay (retention of the topic).
CLAIM_TTL_SECONDS = 14 * 24 * 3600

# KEYS: claim, balances hash, journal list. ARGV: ttl, account, delta, message id.
BOOK = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
  redis.call('RPUSH', KEYS[3], ARGV[4])
  return 1
end
return 0
"""


def _nothing(event: Mapping[str, Any]) -> None:
    return None


class Ledger:
    """Consumes ``topic`` in group ``group_id`` and books each payment once."""

    def __init__(
        self,
        bootstrap_servers: str,
        redis_url: str,
        *,
        topic: str = "payments",
        group_id: str = "ledger",
        prefix: str = "ledger",
        journal_key: str | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        before_booking: Callable[[Mapping[str, Any]], None] = _nothing,
        after_booking: Callable[[Mapping[str, Any]], None] = _nothing,
        retry_backoff: float = 0.2,
    ) -> None:
        self.redis = redis.Redis.from_url(redis_url)
        self.book = self.redis.register_script(BOOK)
        self.prefix = prefix
        self.balances_key = f"{prefix}:balances"
        self.journal_key = journal_key or f"{prefix}:journal"
        self.before_booking = before_booking
        self.after_booking = after_booking
        self.retry_backoff = retry_backoff
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            value_deserializer=json.loads,
            **dict(consumer_config or {}),
        )

    def balance(self, account_id: str) -> int:
        """The account's balance in cents."""
        return int(self.redis.hget(self.balances_key, account_id) or 0)

    def handle(self, payment: Mapping[str, Any]) -> bool:
        """Book one payment event; False if it books nothing (authorized, or a replay)."""
        sign = SIGN.get(payment["type"])
        if sign is None:
            return False
        message_id = payment["meta"]["message_id"]
        self.before_booking(payment)
        booked = self.book(
            keys=[f"{self.prefix}:claim:{message_id}", self.balances_key, self.journal_key],
            args=[CLAIM_TTL_SECONDS, payment["account_id"], sign * payment["amount_cents"],
                  message_id],
        )
        self.after_booking(payment)
        return bool(booked)

    def poll_once(self, timeout: float = 0.2) -> int:
        """Poll, book every message (a failed one is read again), commit; return how many
        were handled."""
        try:
            batches = self.consumer.poll(timeout_ms=int(timeout * 1000))
        except KafkaError as exc:  # the connection dropped: nothing handed out yet
            if not exc.retriable:
                raise
            time.sleep(0.5)
            return 0
        handled = 0
        for partition, messages in batches.items():
            for message in messages:
                try:
                    self.handle(message.value)
                except Exception as exc:
                    print(f"booking {partition.topic}[{partition.partition}]@{message.offset} "
                          f"failed: {exc!r}; reading it again")
                    self.consumer.seek(partition, message.offset)
                    time.sleep(self.retry_backoff)
                    break  # this partition's later messages come again after it
                handled += 1
        if handled:
            try:
                self.consumer.commit()
            except KafkaError as exc:  # a rebalance: replays are claimed, so book nothing
                print(f"commit failed: {exc!r}; the next owner replays harmlessly")
        return handled

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll_once()

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.redis.close()
