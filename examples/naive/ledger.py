"""NEGATIVE CONTROL -- the payments ledger without its claim: don't copy.

The bug the contract catches: the balance change and the journal entry are booked with
no record of which messages were booked. Kafka delivers at least once, so a replayed
message (a crash before the commit, a rebalance, a re-read) is booked again: the
customer is credited twice. The correct version (claim and booking in one Lua script):
:mod:`examples.payments.ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from examples.payments.ledger import SIGN, Ledger


class NaiveLedger(Ledger):
    def handle(self, payment: Mapping[str, Any]) -> bool:
        sign = SIGN.get(payment["type"])
        if sign is None:
            return False
        self.before_booking(payment)
        pipe = self.redis.pipeline()
        pipe.hincrby(self.balances_key, payment["account_id"], sign * payment["amount_cents"])
        pipe.rpush(self.journal_key, payment["meta"]["message_id"])  # BUG: no claim
        pipe.execute()
        self.after_booking(payment)
        return True
