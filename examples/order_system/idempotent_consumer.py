"""Production pattern 4: an effect applied once per event, however often the event arrives.

Kafka delivers at-least-once: a producer retry, a crash between the work and the commit,
or a rebalance hands the same event over again. This consumer makes the *effect* happen
once per ``event_id`` by doing the claim and the effect in one atomic Redis step, a Lua
script::

    if SET processed:<namespace>:<event_id> 1 NX PX <ttl>  -- first time for this id?
        apply the event's writes (RPUSH charges:<namespace> <order_id>, HINCRBYFLOAT ...)

Redis runs a script alone, so:

* two consumers racing on the same event (two instances, a rebalance, a replay by a
  second group sharing the ``namespace``): one claims and applies, the other sees the
  claim and applies nothing;
* a crash after the script and before the offset commit: the redelivered event finds
  its claim and is skipped, so the effect is not doubled.

Each id has its own TTL, fixed when it is claimed: a claim expires ``ttl`` after its
event was processed, so choose ``ttl`` longer than the longest redelivery you expect
(topic retention, if a group may be reset to the beginning).

What the guide's ``IdempotentConsumer`` gets wrong: check (``SISMEMBER``), act, then mark
(``SADD``) are three steps, so two consumers can both pass the check and both charge, and
a crash between the charge and the mark charges again; ``EXPIRE`` on the whole set moves
every id's expiry to "a week after the latest event", so under steady traffic no id ever
expires and the set grows for ever; a failed event is not sought back, so it is skipped
(see :mod:`examples.order_system.batch_consumer`); an event without ``event_id`` is
skipped silently.

What stays at-least-once: only writes *inside the script* are exactly-once. A side
effect elsewhere (an email, a call to a payment provider) done after the script may be
lost by a crash (the redelivery finds the claim), and done before it may be repeated.
Give such calls their own idempotency key (the ``event_id``; most payment APIs accept
one), or have the script write an outbox entry that a separate sender delivers with that
key. Redis' own durability bounds the guarantee: a claim lost in a failover (async
replication, no AOF) lets a redelivery apply the effect again. Lua scripts are atomic but
not transactional: validate an event (compute its writes) before the script runs, as
:meth:`IdempotentEffect.apply_event` does, so a bad event fails before anything is claimed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from kafka import KafkaConsumer

from .runtime import (
    ORDERS_TOPIC,
    Connection,
    StopWhen,
    cli_arguments,
    commit_positions,
    connection_from_args,
    from_json,
    poll_records,
    run_from_cli,
    run_loop,
)

#: The claim and the writes, one atomic step.
#: KEYS[1]: the claim; KEYS[2..]: one key per write.
#: ARGV[1]: claim TTL in ms; then per write: command, argument count, arguments.
CLAIM_AND_APPLY = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
    return 0
end
local at = 2
for k = 2, #KEYS do
    local count = tonumber(ARGV[at + 1])
    redis.call(ARGV[at], KEYS[k], unpack(ARGV, at + 2, at + 1 + count))
    at = at + 2 + count
end
return 1
"""

SEVEN_DAYS = 7 * 24 * 3600


@dataclass(frozen=True)
class RedisWrite:
    """One Redis command on one key, e.g. ``RedisWrite("RPUSH", "charges:p", "order_1")``."""

    command: str
    key: str
    args: tuple[str | int | float, ...] = ()


def charges_key(namespace: str) -> str:
    """The list of charged order ids (one entry per charge)."""
    return f"charges:{namespace}"


def charged_by_user_key(namespace: str) -> str:
    """The hash of amounts charged per user."""
    return f"charged_by_user:{namespace}"


def payment_writes(namespace: str) -> Callable[[Any], list[RedisWrite]]:
    """The guide's ``process_payment``, as Redis writes: record the charge, add it up.

    Raises ``KeyError`` for an event without ``data.order_id``/``user_id``/``total``.
    """

    def writes(event: Any) -> list[RedisWrite]:
        order = event["data"]
        total = float(order["total"])
        return [
            RedisWrite("RPUSH", charges_key(namespace), (order["order_id"],)),
            RedisWrite("HINCRBYFLOAT", charged_by_user_key(namespace), (order["user_id"], total)),
        ]

    return writes


class IdempotentEffect:
    """Apply an event's Redis writes at most once per event id (claim + writes, atomically)."""

    def __init__(
        self,
        client: redis.Redis,
        writes_of: Callable[[Any], Sequence[RedisWrite]],
        *,
        namespace: str,
        ttl_seconds: float = SEVEN_DAYS,
    ) -> None:
        self.client = client
        self.writes_of = writes_of
        self.namespace = namespace
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self._script = client.register_script(CLAIM_AND_APPLY)

    def claim_key(self, event_id: str) -> str:
        return f"processed:{self.namespace}:{event_id}"

    def apply(self, event_id: str, writes: Sequence[RedisWrite]) -> bool:
        """Claim ``event_id`` and apply ``writes``; False (nothing written) if already claimed."""
        keys = [self.claim_key(event_id)]
        args: list[str | int | float] = [self.ttl_ms]
        for write in writes:
            keys.append(write.key)
            args.extend([write.command, len(write.args), *write.args])
        return bool(self._script(keys=keys, args=args))

    def apply_event(self, event: Any, event_id: str) -> bool:
        """Compute the event's writes (may raise: nothing is claimed then) and apply them."""
        return self.apply(event_id, self.writes_of(event))


class IdempotentConsumer:
    """Consume ``topic`` and apply each event's effect once (see the module docstring).

    ``namespace`` scopes the claims and the effect keys; it defaults to ``group_id``.
    Instances that must not repeat each other's effects share it, whatever their group.
    An event whose writes cannot be computed is sought back and read again (at-least-once),
    so one that never can blocks its partition: put the retry/DLQ consumer of
    :mod:`examples.order_system.retry_dlq_consumer` in front, with
    :meth:`IdempotentEffect.apply_event` as (part of) its handler.
    """

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        topic: str = ORDERS_TOPIC,
        group_id: str = "payment-processor",
        namespace: str | None = None,
        writes_of: Callable[[Any], Sequence[RedisWrite]] | None = None,
        ttl_seconds: float = SEVEN_DAYS,
    ) -> None:
        connection = connection or Connection()
        self.namespace = namespace or group_id
        self.redis = redis.Redis.from_url(connection.redis_url)
        self.effect = IdempotentEffect(
            self.redis,
            writes_of or payment_writes(self.namespace),
            namespace=self.namespace,
            ttl_seconds=ttl_seconds,
        )
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=connection.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **connection.consumer_overrides,
        )
        self.applied = 0
        self.duplicates = 0

    def step(self, timeout: float) -> int:
        """Poll once, apply each new event's effect, commit; return records handled."""
        polled = poll_records(self.consumer, timeout)
        handled = 0
        for tp, records in polled.items():
            for record in records:
                where = f"{record.topic}[{record.partition}]@{record.offset}"
                try:
                    event = from_json(record.value)
                    # No event_id: the record's position still dedupes its own redelivery.
                    event_id = str(event.get("event_id") or where)
                    applied = self.effect.apply_event(event, event_id)
                except Exception as error:  # not applied, not claimed: read it again
                    print(f"✗ {where}: {error!r} - will retry")
                    self.consumer.seek(tp, record.offset)
                    break
                if applied:
                    self.applied += 1
                    print(f"💳 Applied {event_id} ({where})")
                else:
                    self.duplicates += 1
                    print(f"⏭ Skipping duplicate: {event_id}")
                handled += 1
        if handled:
            # Positions are past each handled record and at each record sought back to.
            commit_positions(self.consumer)
        return handled

    def run(self, until: StopWhen | None = None) -> int:
        """Handle records until ``until`` says stop; return how many were handled."""
        print(f"Idempotent consumer started (claims: processed:{self.namespace}:<event_id>)")
        return run_loop(self.step, until or StopWhen())

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.redis.close()


def main() -> None:
    parser = cli_arguments("Charge each order once, however often its event is delivered.")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--group-id", default="payment-processor")
    args = parser.parse_args()
    consumer = IdempotentConsumer(
        connection_from_args(args),
        topic=args.topic,
        group_id=args.group_id,
    )
    run_from_cli(consumer, args)
    print(f"✓ {consumer.applied} charged, {consumer.duplicates} duplicate(s) skipped")


if __name__ == "__main__":
    main()
