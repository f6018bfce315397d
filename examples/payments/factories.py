"""Payment events made by the payments team's own code, for contracts whose events come
from a factory (``"events": {"factory": "examples.payments.factories:payment_events"}``).

Two shapes a factory may take: a callable ``(rng, count) -> list[dict]`` that draws
everything from ``rng`` (same seed, same events), or a factory_boy ``Factory`` of dicts,
whose ``build_batch(count)`` the harness calls after seeding factory_boy and Faker.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import factory

ACCOUNTS = 4


def payment_events(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Per payment an authorization, then its capture; a few refunds. Keys (accounts)
    repeat, so each account has a history whose order matters."""
    accounts = [f"acc_{rng.getrandbits(24):06x}" for _ in range(ACCOUNTS)]
    events = []
    for index in range(count):
        kind = ("payment.authorized", "payment.captured", "payment.captured",
                "payment.refunded")[index % 4]
        event: dict[str, Any] = {
            "type": kind,
            "meta": {"message_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                     "occurred_at": "2026-01-01T00:00:00Z"},
            "payment_id": f"pay_{rng.getrandbits(32):08x}",
            "account_id": accounts[index % ACCOUNTS],
            "amount_cents": rng.randint(100, 50_000),
            "currency": rng.choice(["EUR", "USD", "GBP"]),
        }
        if kind == "payment.refunded":
            event["reason"] = "requested_by_customer"
        events.append(event)
    return events


class PaymentCapturedFactory(factory.Factory):
    """``payment.captured`` events as dicts (factory_boy, Faker)."""

    class Meta:
        model = dict

    type = "payment.captured"
    meta = factory.Dict({
        "message_id": factory.Faker("uuid4"),
        "occurred_at": "2026-01-01T00:00:00Z",
    })
    payment_id = factory.Faker("pystr_format", string_format="pay_########")
    account_id = factory.Faker("random_element", elements=["acc_0001", "acc_0002", "acc_0003"])
    amount_cents = factory.Faker("pyint", min_value=1, max_value=100_000)
    currency = "EUR"
