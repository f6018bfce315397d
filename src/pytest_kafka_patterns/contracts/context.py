"""What a scenario runs with: :class:`ScenarioContext` (produce, start consumers, wait,
check the guarantee), its :class:`Timeline` and :class:`ScenarioResult`. Its events come
from the contract's source (:mod:`.sources`).

The scenarios themselves build on this module: the built-in ones in :mod:`.scenarios`,
the group and network faults in :mod:`.fault_scenarios`; :mod:`.scenarios` lists them all.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from ..assertions import (
    assert_delivered,
    assert_exactly_once_effect,
    assert_ordered_by_key,
    id_at,
)
from ..assertions.formatting import printable
from ..clients import new_producer
from ..paths import MISSING, field_at
from ..reading import Record, committed_offsets, high_watermarks, read_topic
from ..waiting import any_result, poll
from .harness import ConsumerProcess, Harness, HarnessEnv, heartbeat_seconds, session_seconds
from .model import Contract
from .runner import RunnerConfig

#: The stall check asks the broker whether the group is caught up (two round trips, ~60 ms
#: here) at most this often.
CAUGHT_UP_CHECK_EVERY = 0.2
#: Seconds the retry topic and the DLQ may stay still before the poison counts as stuck.
#: Not one session: a retry consumer may sleep its backoff between hops (the guide's does),
#: and the wait ends as soon as the DLQ holds every poison event, so only a failing run
#: waits this long.
DLQ_QUIET_SECONDS = 8.0


class Timeline:
    """What happened when, in seconds since the scenario started."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.entries: list[str] = []

    def add(self, text: str) -> None:
        self.entries.append(f"{time.monotonic() - self.started:6.2f}s  {text}")


@dataclass
class ScenarioResult:
    """A scenario's outcome: the seed, the fault timeline and the assertion's message."""

    contract: str
    scenario: str
    seed: int
    timeline: list[str]
    seconds: float
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    """What a passing run should not hide: far slower than the contract's other
    scenarios, a wait that ran out."""

    @property
    def passed(self) -> bool:
        return self.error is None

    def report(self) -> str:
        status = "passed" if self.passed else "FAILED"
        lines = [
            f"contract {self.contract!r}, scenario {self.scenario!r} {status} "
            f"in {self.seconds:.1f} s (seed {self.seed}; reproduce with "
            f'"faults": {{"seed": {self.seed}}} in the contract or seed={self.seed})',
            *(f"note: {note}" for note in self.notes),
            "fault timeline:",
            *(f"  {entry}" for entry in self.timeline),
        ]
        if self.error:
            lines += ["assertion:", self.error]
        return printable("\n".join(lines))  # log tails may hold terminal control codes

    def check(self) -> None:
        """Raise ``AssertionError`` with :meth:`report` if the scenario failed."""
        if self.error is not None:
            raise AssertionError(self.report())


@dataclass
class ScenarioContext:
    """Everything a scenario needs; helpers produce, start consumers, wait and check."""

    contract: Contract
    env: HarnessEnv
    harness: Harness
    seed: int
    rng: random.Random
    timeline: Timeline
    topic: str
    group_id: str
    effects_key: str
    redis: Any
    events: list[dict[str, Any]]
    retry_topic: str | None = None
    dlq_topic: str | None = None
    output_topics: tuple[str, ...] = ()
    poison: list[dict[str, Any]] = field(default_factory=list)
    poison_failures: int = 0
    consumer_bootstrap: str = ""
    """Where consumers connect; a proxy scenario may point it at its proxy."""
    _last_count: int = -1
    _last_change: float = 0.0
    _last_check: float = 0.0
    _stalled: bool = False

    @property
    def stall_seconds(self) -> float:
        """How long a consumer whose group is caught up may go without a new effect
        before it counts as stalled: one session of its group. A consumer that commits
        after its effects has none left to make once its group is caught up; this is for
        one whose effects trail its commits (auto-commit, a pipeline). The broker gives a
        member as long to show life; it was a fixed 3 s."""
        return session_seconds(self.env.consumer_defaults)

    @property
    def settle_seconds(self) -> float:
        """How long a consumer keeps running once it looks done, so that a late duplicate
        shows: one heartbeat interval, the time a member takes to hear of a rebalance
        (the usual source of a redelivery). It was a fixed 0.3 s."""
        return heartbeat_seconds(self.env.consumer_defaults)

    def key_of(self, event: dict[str, Any]) -> str | None:
        """The record key of ``event``: the value at the contract's key path, as a
        string; None when the contract has no key rule."""
        path = self.contract.key_path
        if path is None:
            return None
        found = field_at(event, path)
        return None if found is MISSING else str(found)

    def id_of(self, event: Any) -> str | None:
        """The id of an event dict, a record (its value) or an effect (an id)."""
        ident: str | None = id_at(self.contract.id_field)(event)
        return ident

    def produce(self, events: Sequence[dict[str, Any]], note: str = "") -> None:
        producer = new_producer(self.env.bootstrap_servers)
        try:
            sent = [producer.send(self.topic, key=self.key_of(event), value=event)
                    for event in events]
            producer.flush()
            for future in sent:  # a lost event must not be blamed on the consumer
                future.get(timeout=30)
        finally:
            producer.close()
        keys = len({self.key_of(event) for event in events})
        self.timeline.add(f"produced {len(events)} event(s) on {keys} "
                          f"key(s) to {self.topic}{note}")

    def runner_config(self, crash_after: int | None = None) -> RunnerConfig:
        dlq = self.contract.dlq
        return RunnerConfig(
            bootstrap_servers=self.consumer_bootstrap or self.env.bootstrap_servers,
            topic=self.topic,
            group_id=self.group_id,
            redis_url=self.env.redis_url,
            effects_key=self.effects_key,
            consumer_overrides=dict(self.env.consumer_defaults),
            poison=frozenset(str(self.id_of(event)) for event in self.poison),
            id_field=self.contract.id_field,
            poison_failures=self.poison_failures,
            retry_topic=self.retry_topic,
            dlq_topic=self.dlq_topic,
            max_retries=dlq.max_retries if dlq else 0,
            crash_after=crash_after,
            output_topics=self.output_topics,
        )

    def start(self, crash_after: int | None = None) -> ConsumerProcess:
        label = f"consumer #{len(self.harness.processes) + 1}"
        process = self.harness.start(self.runner_config(crash_after), label)
        self._last_count = -1  # a new incarnation gets its own stall window
        crash = f", crashes after effect #{crash_after}" if crash_after is not None else ""
        self.timeline.add(f"started {label} (pid {process.pid}{crash})")
        return process

    def effects(self) -> list[str]:
        return [raw.decode() for raw in self.redis.lrange(self.effects_key, 0, -1)]

    def _permanent_poison(self) -> set[str]:
        if self.poison_failures != 0:
            return set()
        return {str(self.id_of(e)) for e in self.poison}

    def acted_on(self) -> list[dict[str, Any]]:
        """The events that must have an effect (the contract's ``acts_on``)."""
        return [e for e in self.events if self.contract.acts_on_event(e)]

    def _expected_ids(self) -> set[str]:
        return {str(self.id_of(e)) for e in self.acted_on()} - self._permanent_poison()

    def _caught_up(self) -> bool:
        try:
            committed = committed_offsets(self.env.bootstrap_servers, self.group_id, self.topic)
            ends = high_watermarks(self.env.bootstrap_servers, self.topic, timeout=2.0)
        except Exception:  # the broker is busy rebalancing: ask again later
            return False
        return all(committed.get(partition, 0) >= end for partition, end in ends.items())

    def wait_done(self, process: ConsumerProcess, timeout: float | None = None) -> bool:
        """Wait until every expected event has an effect and the group has committed to
        the end of the topic (and the poison is in the DLQ). False when the consumer
        exits, the timeout passes, or it stalls: caught up, yet no new effect for
        :attr:`stall_seconds`."""
        timeout = self.contract.faults.timeout if timeout is None else timeout
        expected = self._expected_ids()
        self._stalled = False

        def exited() -> bool:
            return process.exit_code() is not None

        done = poll(lambda: expected <= set(self.effects()), timeout=timeout,
                    abort=lambda: exited() or self.stalled()).done
        done = done and poll(self._caught_up, timeout=timeout, abort=exited).done
        if done and self.dlq_topic and self.poison and self.poison_failures == 0:
            done = self._wait_dead_lettered(process, timeout)
        if done:
            # Not a condition: a duplicate that has not happened yet cannot be waited for.
            time.sleep(self.settle_seconds)
        return done

    def _wait_dead_lettered(self, process: ConsumerProcess, timeout: float) -> bool:
        """Wait for every poison event in the DLQ, while the poison still moves. Give up
        when the consumer exits, or when neither the retry topic nor the DLQ has grown for
        :data:`DLQ_QUIET_SECONDS` (or a session, if longer) while the group is caught up on
        the input topic (nothing is left that could still reach the DLQ)."""
        topics = [topic for topic in (self.retry_topic, self.dlq_topic) if topic]
        last: list[int] = []
        moved = time.monotonic()

        def stuck() -> bool:
            nonlocal last, moved
            if process.exit_code() is not None:
                return True
            try:
                ends = [sum(high_watermarks(self.env.bootstrap_servers, topic,
                                            timeout=2.0).values()) for topic in topics]
            except Exception:  # the broker is busy: ask again later
                return False
            now = time.monotonic()
            if ends != last:
                last, moved = ends, now
                return False
            quiet = max(self.stall_seconds, DLQ_QUIET_SECONDS)
            return now - moved >= quiet and self._caught_up()

        return poll(lambda: len(self.dlq_records()) >= len(self.poison), timeout=timeout,
                    interval=0.1, abort=stuck).done

    def stalled(self) -> bool:
        """True once the effect count has not changed for :attr:`stall_seconds` while the
        group is caught up (the consumer skipped or lost what is missing)."""
        count = int(self.redis.llen(self.effects_key))
        now = time.monotonic()
        if count != self._last_count:
            self._last_count, self._last_change = count, now
            return False
        if (now - self._last_change < self.stall_seconds
                or now - self._last_check < CAUGHT_UP_CHECK_EVERY):
            return False
        self._last_check = now
        self._stalled = self._caught_up()
        return self._stalled

    def finish(self, process: ConsumerProcess) -> None:
        """Let ``process`` finish the work, then stop it (SIGTERM, then SIGKILL)."""
        done = self.wait_done(process)
        code = process.exit_code()
        if code is not None:
            self.timeline.add(f"{process.label} exited with {code} on its own; log tail:\n"
                              + process.log_tail())
        elif not done and self._stalled:
            self.timeline.add(f"{process.label} stalled: its group is caught up, yet no new "
                              f"effect for {self.stall_seconds:g} s")
        elif not done:
            self.timeline.add(f"{process.label} did not finish the work in "
                              f"{self.contract.faults.timeout:.0f} s")
        process.stop()
        self.timeline.add(f"stopped {process.label}: {len(self.effects())} effect(s) recorded")

    def dlq_records(self) -> list[Record]:
        if not self.dlq_topic:
            return []
        return read_topic(self.env.bootstrap_servers, self.dlq_topic, timeout=2.0)

    def check_guarantee(self) -> None:
        """The contract's guarantee, over the effects recorded so far."""
        effects = self.effects()
        permanent = self._permanent_poison()
        expected = [e for e in self.acted_on() if str(self.id_of(e)) not in permanent]
        id_of = id_at(self.contract.id_field)
        # An effect of anything else (an ignored event type, permanent poison) is wrong too.
        try:
            if self.contract.delivery == "effectively-once":
                assert_exactly_once_effect(effects, expected, id_of=id_of, allow_extra=False)
            else:
                assert_delivered(effects, expected, id_of=id_of, exactly_once=False,
                                 allow_extra=False)
        except AssertionError as exc:
            notes = self.unwanted_effects_notes(effects, expected)
            if not notes:
                raise
            raise AssertionError("\n".join([str(exc), *notes])) from None
        if self.contract.ordering:
            by_id = {str(self.id_of(e)): e for e in self.acted_on()}
            first: list[Record] = []
            for ident in dict.fromkeys(effects):  # first effect of each event, in order
                if ident in by_id:
                    event = by_id[ident]
                    first.append(Record("effects", 0, len(first), self.key_of(event), event))
            assert_ordered_by_key(first, expected=self.acted_on(), id_of=id_of)

    def unwanted_effects_notes(
        self, effects: Sequence[str], expected: Sequence[dict[str, Any]]
    ) -> list[str]:
        """Name what the effects of events that must have none were: event types outside
        ``acts_on`` (with counts), and permanent poison."""
        wanted = {str(self.id_of(event)) for event in expected}
        produced = {str(self.id_of(event)): event for event in self.events}
        poison = self._permanent_poison()
        outside: Counter[str] = Counter()
        poisoned = 0
        for ident in effects:
            event = produced.get(ident)
            if ident in wanted or event is None:
                continue
            if ident in poison:
                poisoned += 1
            elif not self.contract.acts_on_event(event):
                outside[str(self.contract.event_type_of(event))] += 1
        notes = []
        if outside:
            acts_on = ", ".join(self.contract.acts_on or ())
            kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(outside.items()))
            notes.append(f"  note: {sum(outside.values())} effect(s) of event types outside "
                         f"acts_on ({acts_on}): {kinds}")
        if poisoned:
            notes.append(f"  note: {poisoned} effect(s) of events poisoned on every attempt "
                         f"(they belong in the DLQ only)")
        return notes

    def reset_group(self, offset: int = 0) -> None:
        """Commit ``offset`` on every partition for the (stopped) group: a re-read.

        The group refuses while a stopped member that did not leave (SIGKILLed) is still
        in it, so this retries until that member's session has expired."""
        session = session_seconds(self.env.consumer_defaults)
        consumer = KafkaConsumer(bootstrap_servers=self.env.bootstrap_servers,
                                 group_id=self.group_id, enable_auto_commit=False,
                                 **dict(self.env.consumer_defaults))
        try:
            partitions = sorted(consumer.partitions_for_topic(self.topic) or ())
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            meta = (offset, "", -1)[: len(OffsetAndMetadata._fields)]
            offsets = {tp: OffsetAndMetadata(*meta) for tp in tps}
            committed = poll(lambda: consumer.commit(offsets), timeout=2 * session + 1.0,
                             interval=0.2, done=any_result, retry_on=KafkaError)
            if committed.error is not None:
                raise committed.error
        finally:
            consumer.close(autocommit=False)
        self.timeline.add(f"reset group {self.group_id} to offset {offset} on "
                          f"{len(tps)} partition(s)")
