"""A consumer of your own, made checkable by a contract: loyalty points per order.

``award_points`` is the whole service: it reads ``order.created`` events and adds
``int(total)`` points to the user's balance in Redis, marking the event id in the same
atomic step (a Lua script), so a redelivered event adds nothing: effectively once.
Offsets are committed after the effect. ``contract_runner`` is the three lines the
contract harness needs: build the service on the harness's settings, report effects.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import redis
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from pytest_kafka_patterns.contracts import RunnerConfig

#: KEYS: seen ids (set), balances (hash), [journal list]. ARGV: event_id, user_id, points.
AWARD = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
if KEYS[3] then redis.call('RPUSH', KEYS[3], ARGV[1]) end
return 1
"""


def award_points(consumer: KafkaConsumer, client: redis.Redis, stop: threading.Event, *,
                 prefix: str = "points", journal: str | None = None,
                 before_award: Any = None, after_award: Any = None) -> None:
    """Award points until ``stop`` is set; ``before_award``/``after_award(event)`` are hooks.

    A failing event is retried (seek back: the next poll returns it again); a broker
    blip (a retriable ``KafkaError`` from ``poll`` or ``commit``) is waited out.
    """
    award = client.register_script(AWARD)
    keys = [f"{prefix}:seen", f"{prefix}:balances", *([journal] if journal else [])]
    while not stop.is_set():
        try:
            polled = consumer.poll(timeout_ms=200)
        except KafkaError as exc:
            if not exc.retriable:
                raise
            continue
        for tp, records in polled.items():
            for record in records:
                event = json.loads(record.value)
                if event.get("event_type") != "order.created":
                    continue
                try:
                    if before_award:
                        before_award(event)
                    data = event["data"]
                    award(keys=keys, args=[event["event_id"], data["user_id"], int(data["total"])])
                except Exception as exc:
                    print(f"retrying {tp.topic}[{tp.partition}]@{record.offset}: {exc!r}")
                    consumer.seek(tp, record.offset)
                    break
                if after_award:
                    after_award(event)
        try:
            consumer.commit()  # the positions: just past what was awarded (or sought back)
        except KafkaError as exc:
            print(f"commit failed ({exc!r}); the next one covers it")


def contract_runner(config: RunnerConfig) -> None:
    """What ``points.contract.yaml`` runs: the harness's broker, topic, group and Redis."""
    consumer = KafkaConsumer(config.topic, bootstrap_servers=config.bootstrap_servers,
                             group_id=config.group_id, auto_offset_reset="earliest",
                             enable_auto_commit=False, **config.consumer_overrides)
    try:
        award_points(consumer, config.redis, config.stop, prefix=config.effects_key + ":points",
                     journal=config.effects_key,  # the effect, recorded in the same step
                     before_award=config.check_poison,  # raises for the scenario's poison
                     after_award=lambda event: config.after_effect())  # may SIGKILL here
    finally:
        consumer.close(autocommit=False)
