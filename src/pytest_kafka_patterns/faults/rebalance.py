"""Rebalance mid-stream: a second consumer-group member joins, holds partitions, leaves.

::

    with second_member(bootstrap, "orders", group, hold_seconds=2,
                       consumer_overrides=kafka_broker.consumer_defaults) as member:
        ...  # the consumer under test keeps running
    print(member.timeline.describe())

The member runs in a background thread with its own kafka-python consumer (created and
closed in that thread). Without a ``handler`` it pauses what it is assigned, so it takes
partitions away from the consumer under test without reading them; with one, it hands
each record to the handler (and commits after each batch when ``commit=True``), like
another instance of the same service. Closing the consumer sends LeaveGroup, so the
group rebalances again right away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition

from .. import clients

#: How long the member may wait for its first assignment.
JOIN_TIMEOUT = 15.0
POLL_MS = 100


@dataclass
class MemberTimeline:
    """What the second member did, in ``time.monotonic()`` seconds."""

    group_id: str
    topic: str
    started_at: float
    """When the member subscribed (asked to join)."""
    assigned_at: float | None = None
    """When it got its first non-empty assignment (``None``: it never did)."""
    left_at: float | None = None
    """When its consumer was closed (LeaveGroup sent)."""
    assignments: list[tuple[float, list[int]]] = field(default_factory=list)
    """Every assignment it received: (time, partitions)."""
    records: int = 0
    """Records it handed to the handler."""
    error: str | None = None
    """Why it ended early (an exception in the thread, no assignment in time)."""

    @property
    def partitions(self) -> list[int]:
        """Every partition it held at some point."""
        return sorted({p for _, parts in self.assignments for p in parts})

    @property
    def join_seconds(self) -> float | None:
        """Subscribe → first assignment: how long the joining rebalance took."""
        return None if self.assigned_at is None else self.assigned_at - self.started_at

    def describe(self, origin: float | None = None) -> list[str]:
        """Timeline lines, times relative to ``origin`` (default: ``started_at``)."""
        zero = self.started_at if origin is None else origin

        def at(moment: float) -> str:
            return f"+{moment - zero:.2f}s"

        lines = [f"{at(self.started_at)} second member joins group {self.group_id!r}"]
        for moment, parts in self.assignments:
            lines.append(f"{at(moment)} second member assigned {self.topic} partitions {parts}")
        if self.left_at is not None:
            lines.append(
                f"{at(self.left_at)} second member leaves ({self.records} record(s) handled)"
            )
        if self.error:
            lines.append(f"second member error: {self.error}")
        return lines


Handler = Callable[[Any], None]


class SecondMember:
    """A group member in a background thread; see :func:`second_member`."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        hold_seconds: float,
        consumer_overrides: Mapping[str, Any] | None = None,
        *,
        handler: Handler | None = None,
        commit: bool = False,
        join_timeout: float = JOIN_TIMEOUT,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.group_id = group_id
        self.hold_seconds = hold_seconds
        self.consumer_overrides = dict(consumer_overrides or {})
        self.handler = handler
        self.commit = commit
        self.join_timeout = join_timeout
        self.timeline = MemberTimeline(group_id, topic, time.monotonic())
        self._leave = threading.Event()
        self._thread = threading.Thread(target=self._run, name="SecondMember", daemon=True)

    def start(self) -> SecondMember:
        self.timeline.started_at = time.monotonic()
        self._thread.start()
        return self

    def leave(self) -> None:
        """Ask the member to leave now (it closes its consumer from its thread)."""
        self._leave.set()

    def wait(self, timeout: float | None = None) -> MemberTimeline:
        """Wait until the member has left; raise ``TimeoutError`` after ``timeout``.

        The default timeout is the join timeout plus the hold time plus 10 s for closing.
        """
        limit = self.join_timeout + self.hold_seconds + 10.0 if timeout is None else timeout
        self._thread.join(limit)
        if self._thread.is_alive():
            self._leave.set()
            raise TimeoutError(
                f"second member of {self.group_id!r} did not leave within {limit:g} s"
            )
        return self.timeline

    def _run(self) -> None:
        timeline = self.timeline
        member = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_revoked(self, revoked: Any) -> None:
                pass

            def on_partitions_assigned(self, assigned: Any) -> None:
                parts = sorted(tp.partition for tp in assigned)
                now = time.monotonic()
                timeline.assignments.append((now, parts))
                if parts and timeline.assigned_at is None:
                    timeline.assigned_at = now
                if member.handler is None and assigned:
                    consumer.pause(*assigned)

        overrides: dict[str, Any] = {"enable_auto_commit": False, **self.consumer_overrides}
        try:
            consumer = KafkaConsumer(
                **clients.consumer_config(
                    self.bootstrap_servers,
                    group_id=self.group_id,
                    group_defaults={},
                    **overrides,
                )
            )
        except Exception as exc:  # reported in the timeline
            timeline.error = f"{type(exc).__name__}: {exc}"
            timeline.left_at = time.monotonic()
            return
        try:
            consumer.subscribe([self.topic], listener=Listener())
            timeline.started_at = time.monotonic()
            join_deadline = timeline.started_at + self.join_timeout
            while not self._leave.is_set():
                now = time.monotonic()
                if timeline.assigned_at is None and now >= join_deadline:
                    timeline.error = f"no partitions assigned within {self.join_timeout:g} s"
                    break
                if timeline.assigned_at is not None and (
                    now >= timeline.assigned_at + self.hold_seconds
                ):
                    break
                batches = consumer.poll(timeout_ms=POLL_MS)
                self._handle(consumer, batches)
        except Exception as exc:  # reported in the timeline
            timeline.error = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                consumer.close(autocommit=False)
            finally:
                timeline.left_at = time.monotonic()

    def _handle(self, consumer: KafkaConsumer, batches: Mapping[TopicPartition, Any]) -> None:
        if self.handler is None or not batches:
            return
        for raws in batches.values():
            for raw in raws:
                self.handler(raw)
                self.timeline.records += 1
        if self.commit:
            consumer.commit()


@contextmanager
def second_member(
    bootstrap_servers: str,
    topic: str,
    group_id: str,
    hold_seconds: float,
    consumer_overrides: Mapping[str, Any] | None = None,
    *,
    handler: Handler | None = None,
    commit: bool = False,
    join_timeout: float = JOIN_TIMEOUT,
) -> Iterator[SecondMember]:
    """Join a second member to ``group_id`` now; it leaves ``hold_seconds`` after its
    first assignment (``member.leave()`` makes it leave earlier).

    On exit, waits (bounded) for it to leave; ``member.timeline`` then holds the join
    time, partitions held and leave time. A member that got nothing within
    ``join_timeout`` leaves with ``timeline.error`` set (not raised: the caller decides).
    """
    member = SecondMember(
        bootstrap_servers,
        topic,
        group_id,
        hold_seconds,
        consumer_overrides,
        handler=handler,
        commit=commit,
        join_timeout=join_timeout,
    ).start()
    try:
        yield member
    except BaseException:
        member.leave()
        member.wait()
        raise
    member.wait()
