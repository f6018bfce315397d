"""Runner for ``order_system.async_service`` (aiokafka), kept apart from :mod:`.runners`
so that one imports without aiokafka.

:func:`async_service` wraps ``AsyncKafkaService.consume`` for the contract harness: the
handler raises for poison events and records each effect, and the loop runs until
SIGTERM. The service is at-least-once: offsets are committed after the handler, and a
handler that raises ends ``consume`` with that record uncommitted, so the runner calls
``consume`` again and the group hands the record over once more.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.consumer.group_coordinator import GroupCoordinator

from examples.order_system.async_service import AsyncKafkaService, AsyncStopWhen
from examples.order_system.runtime import Connection
from pytest_kafka_patterns.contracts.runner import PoisonError, RunnerConfig

#: How often the watcher looks at ``config.stop`` (a ``threading.Event`` set on SIGTERM).
STOP_POLL_SECONDS = 0.05
#: The embedded broker's (Tansu's) session timeout. Tansu makes the member that replaces
#: a SIGKILLed one wait up to two sessions, so with sessions this short the runner uses
#: :data:`SHORT_SESSION_MS` (like ``examples/tests/test_async_service.py``); longer
#: sessions (other brokers, whose minimum may be higher) are kept.
EMBEDDED_SESSION_MS = 2000
SHORT_SESSION_MS = 1000


def _leave_from_generation_0() -> None:
    """Make aiokafka send LeaveGroup from generation 0 too. Tansu numbers a group's first
    generation 0 and aiokafka leaves only from generation > 0 (the Java client and
    kafka-python from any joined one), so a stopped first-generation consumer would stay
    in the group until its session expired: the next ``consume`` would wait for it, and
    the harness's group reset would fail with UnknownMemberId."""
    leave = getattr(GroupCoordinator, "_maybe_leave_group", None)
    if leave is None or getattr(leave, "from_generation_0", False):
        return

    async def maybe_leave_group(self: Any) -> None:
        if self.generation == 0 and self.member_id:
            self.generation = 1  # joined; LeaveGroup itself sends only group and member id
        await leave(self)

    maybe_leave_group.from_generation_0 = True  # type: ignore[attr-defined]
    GroupCoordinator._maybe_leave_group = maybe_leave_group


def _consumer_overrides(config: RunnerConfig) -> dict[str, Any]:
    overrides = dict(config.consumer_overrides)
    if int(overrides.get("session_timeout_ms", 10_000)) <= EMBEDDED_SESSION_MS:
        overrides["session_timeout_ms"] = SHORT_SESSION_MS
    return overrides


async def _watch_stop(config: RunnerConfig, stop: asyncio.Event) -> None:
    """Set ``stop`` once ``config.stop`` is set (by a SIGTERM handler outside asyncio)."""
    while not config.stop.is_set():
        await asyncio.sleep(STOP_POLL_SECONDS)
    stop.set()


async def _serve(service: AsyncKafkaService, config: RunnerConfig) -> None:
    async def handle(record: ConsumerRecord) -> None:
        config.check_poison(record.value)
        config.record_effect(record.value)

    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_stop(config, stop))
    try:
        while not stop.is_set():
            try:
                await service.consume(config.topic, config.group_id, handle,
                                      AsyncStopWhen(stop=stop))
            except PoisonError as exc:  # left uncommitted: the next consume gets it again
                print(f"handler failed, consuming again: {exc}", flush=True)
    finally:
        watcher.cancel()
        await service.stop()


def async_service(config: RunnerConfig) -> None:
    """``order_system.async_service`` (aiokafka): commits after the handler
    (at-least-once); a record whose handler failed is consumed again."""
    _leave_from_generation_0()
    service = AsyncKafkaService(Connection(
        bootstrap_servers=config.bootstrap_servers,
        redis_url=config.redis_url,
        consumer_overrides=_consumer_overrides(config),
    ))
    asyncio.run(_serve(service, config))
