"""Network faults through the TCP proxy, and a rebalance mid-stream, on the embedded broker.

Run with ``-p pytest_kafka_patterns.faults_plugin`` until the entry point is installed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from kafka import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError

from pytest_kafka_patterns import assert_delivered, assert_group_caught_up, read_topic
from pytest_kafka_patterns.backends import KafkaBroker
from pytest_kafka_patterns.capabilities import kafka_python_version
from pytest_kafka_patterns.clients import new_consumer, new_producer
from pytest_kafka_patterns.faults import ProxiedBroker, second_member
from pytest_kafka_patterns.topics import create_topic, unique_name

#: A producer that rides out a short cut: reconnects fast, retries until delivered.
RESILIENT = {
    "retries": 100,
    "retry_backoff_ms": 100,
    "reconnect_backoff_ms": 50,
    "reconnect_backoff_max_ms": 300,
    "request_timeout_ms": 3000,
    "delivery_timeout_ms": 30000,
    "linger_ms": 5,
}


def events(count: int, prefix: str = "e") -> list[dict[str, Any]]:
    return [{"event_id": f"{prefix}{i}", "seq": i} for i in range(count)]


@pytest.fixture
def proxied_topic(kafka_proxied_broker: ProxiedBroker, request: pytest.FixtureRequest) -> str:
    from kafka import KafkaAdminClient

    name = unique_name("faults", request.node.name, "")
    admin = KafkaAdminClient(bootstrap_servers=kafka_proxied_broker.bootstrap_servers)
    try:
        create_topic(admin, name, 3, {})
    finally:
        admin.close()
    return name


def test_clients_talk_through_the_proxy(
    kafka_proxied_broker: ProxiedBroker, proxied_topic: str
) -> None:
    """A client that bootstraps at the broker's own listener is sent to the proxy."""
    proxy = kafka_proxied_broker.proxy
    assert kafka_proxied_broker.bootstrap_servers == proxy.address
    before = proxy.stats.connections
    producer = new_producer(kafka_proxied_broker.direct_bootstrap_servers)
    try:
        producer.send(proxied_topic, value={"via": "proxy"}).get(timeout=10)
    finally:
        producer.close()
    # The produce went to the partition leader, which metadata names by the proxy's address.
    assert proxy.stats.connections > before
    assert proxy.stats.bytes_up > 0


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "plain"])
def test_cut_during_a_stream_loses_nothing(
    kafka_proxied_broker: ProxiedBroker, proxied_topic: str, idempotent: bool
) -> None:
    """A 2 s cut mid-stream: with retries every record arrives.

    Idempotent producer: the broker drops a retried batch it already has (producer id +
    sequence), so each record is there exactly once. Plain producer: a batch whose ack
    was lost in the cut is written again, so only at-least-once holds.
    """
    broker = kafka_proxied_broker.broker
    if idempotent and not broker.supports("idempotence"):
        pytest.skip("idempotent producer needs kafka-python 3 on this broker")
    producer = new_producer(
        kafka_proxied_broker.bootstrap_servers, enable_idempotence=idempotent, **RESILIENT
    )
    sent = events(200)
    dropped_before = kafka_proxied_broker.proxy.stats.dropped
    futures = []
    try:
        for index, event in enumerate(sent):
            if index == 60:
                kafka_proxied_broker.proxy.cut()
                cut_at = time.monotonic()
            if index == 140:
                while time.monotonic() - cut_at < 2.0:
                    time.sleep(0.05)
                kafka_proxied_broker.proxy.restore()
            futures.append(producer.send(proxied_topic, key=str(index % 7), value=event))
            time.sleep(0.01)
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=1)
    finally:
        producer.close(timeout=5)
    assert kafka_proxied_broker.proxy.stats.dropped > dropped_before  # it did hit the cut
    records = read_topic(
        kafka_proxied_broker.direct_bootstrap_servers, proxied_topic, min_records=len(sent)
    )
    assert_delivered(records, sent, exactly_once=False)
    if idempotent:
        assert_delivered(records, sent, exactly_once=True)


def produce_round_trip(producer: Any, topic: str, value: dict[str, Any]) -> float:
    started = time.monotonic()
    producer.send(topic, value=value).get(timeout=10)
    return time.monotonic() - started


def test_latency_slows_round_trips_but_everything_works(
    kafka_proxied_broker: ProxiedBroker, proxied_topic: str
) -> None:
    proxy = kafka_proxied_broker.proxy
    producer = new_producer(kafka_proxied_broker.bootstrap_servers, linger_ms=0)
    try:
        produce_round_trip(producer, proxied_topic, {"event_id": "warm"})
        fast = min(produce_round_trip(producer, proxied_topic, {"event_id": f"f{i}"})
                   for i in range(3))
        proxy.latency(0.2)
        slow = min(produce_round_trip(producer, proxied_topic, {"event_id": f"s{i}"})
                   for i in range(3))
    finally:
        producer.close(timeout=5)
    assert slow - fast >= 0.35, (fast, slow)  # request and response each wait 0.2 s
    assert slow < fast + 1.0, (fast, slow)

    # Consuming under latency works too (read_topic bootstraps at the proxy).
    started = time.monotonic()
    records = read_topic(kafka_proxied_broker.bootstrap_servers, proxied_topic, min_records=7)
    assert len(records) == 7, records
    assert time.monotonic() - started >= 0.4


class Recorder(ConsumerRebalanceListener):  # type: ignore[misc]
    """Listener that notes every assignment change with its time."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, list[int]]] = []
        self.held: set[int] = set()
        """Partitions assigned right now."""

    def note(self, what: str, partitions: Any) -> None:
        parts = sorted(tp.partition for tp in partitions)
        self.events.append((time.monotonic(), what, parts))
        if what == "assigned":
            self.held |= set(parts)
        else:
            self.held -= set(parts)

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.note("revoked", revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.note("assigned", assigned)

    def on_partitions_lost(self, lost: Any) -> None:
        self.note("lost", lost)

    def since(self, moment: float) -> list[tuple[float, str, list[int]]]:
        return [event for event in self.events if event[0] >= moment]


class GroupWorker:
    """A minimal at-least-once consumer: process a batch, then commit it (in a thread)."""

    def __init__(
        self, bootstrap_servers: str, group_defaults: Any, topic: str, group_id: str,
        **overrides: Any,
    ) -> None:
        self.processed: list[dict[str, Any]] = []
        self.recorder = Recorder()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._args = (bootstrap_servers, group_defaults, topic, group_id)
        self._overrides = overrides
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        bootstrap_servers, group_defaults, topic, group_id = self._args
        consumer = new_consumer(
            bootstrap_servers, (), group_id=group_id,
            group_defaults=group_defaults, enable_auto_commit=False, **self._overrides,
        )
        try:
            consumer.subscribe([topic], listener=self.recorder)
            while not self.stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=100)
                except KafkaError:  # cut off from the broker: keep trying
                    continue
                for raws in batches.values():
                    self.processed.extend(raw.value for raw in raws)
                if batches:
                    # A rebalance may fail the commit: the batch is then redelivered.
                    with contextlib.suppress(CommitFailedError):
                        consumer.commit()
        except BaseException as exc:  # re-raised by __exit__
            self.error = exc
        finally:
            consumer.close(autocommit=False)

    def __enter__(self) -> GroupWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(15)
        if self.error is not None:
            raise self.error


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_member_cut_past_its_session_timeout_loses_its_partitions(
    kafka_proxied_broker: ProxiedBroker, proxied_topic: str
) -> None:
    """Cut one member (by client id) for longer than its session: the other takes over."""
    broker, proxy = kafka_proxied_broker.broker, kafka_proxied_broker.proxy
    group = unique_name("g", "cut", "")
    fast_reconnect = {
        "reconnect_backoff_ms": 50, "reconnect_backoff_max_ms": 300, "request_timeout_ms": 3000,
    }

    def member(name: str) -> GroupWorker:
        return GroupWorker(
            kafka_proxied_broker.bootstrap_servers, broker.consumer_defaults, proxied_topic,
            group, client_id=name, **fast_reconnect,
        )

    session = broker.consumer_defaults["session_timeout_ms"] / 1000
    started = time.monotonic()
    with member("a") as a, member("b") as b:
        assert wait_for(lambda: bool(a.recorder.held and b.recorder.held), 20), (
            a.recorder.events, b.recorder.events,
        )
        joined = time.monotonic() - started
        held_by_a = set(a.recorder.held)
        proxy.cut(client_id="a")
        cut_at = time.monotonic()
        took_over_in_time = wait_for(lambda: held_by_a <= b.recorder.held, session + 10)
        took_over = time.monotonic() - cut_at
        proxy.restore(client_id="a")
        restored_at = time.monotonic()
        wait_for(lambda: any(what in ("lost", "revoked")
                             for _, what, _ in a.recorder.since(cut_at)), 10)
        a_back = time.monotonic() - restored_at
    assert took_over_in_time, b.recorder.events
    assert took_over >= session * 0.9, took_over  # not before the session expired
    a_after = [what for _, what, _ in a.recorder.since(cut_at)]
    if kafka_python_version() < (2, 3):
        # kafka-python 2.2.x: the cut member often never notices. After the restore its
        # poll() fetches again but never reaches the coordinator (no heartbeat, no
        # rejoin for 20 s, measured with debug logs), so it keeps "holding" partitions b
        # owns: a zombie member. Failed 3 of 3 runs with 2.2.15, 1 of 3 with 2.2.1,
        # 0 of 3 with 2.3.3. The broker's side (b took over) is what the cut shows here.
        return
    assert a_after and a_after[0] in ("lost", "revoked"), a.recorder.events
    print(f"\n[cut] b took over a's partitions {took_over:.2f}s after the cut; "
          f"a noticed {a_back:.2f}s after restore; both joined in {joined:.2f}s")


def test_cut_by_client_id_reaches_a_librdkafka_consumer(
    kafka_proxied_broker: ProxiedBroker, proxied_topic: str
) -> None:
    """``cut(client_id=...)`` finds a confluent-kafka consumer by its ``client.id``
    (librdkafka's first request, ApiVersions, carries it in its header as kafka-python's
    does): while it is cut it reads nothing, while a kafka-python producer (another
    client id) keeps producing through the same proxy; restored, it reads on."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    from pytest_kafka_patterns.confluent import consumer_config

    proxy = kafka_proxied_broker.proxy
    consumer = confluent_kafka.Consumer(consumer_config(
        kafka_proxied_broker.broker, group_id=unique_name("g", "rdk-cut", ""),
        **{"bootstrap.servers": kafka_proxied_broker.bootstrap_servers,
           "client.id": "rdk-a", "reconnect.backoff.max.ms": 300},
    ))
    producer = new_producer(kafka_proxied_broker.bootstrap_servers, **RESILIENT)

    def send(prefix: str) -> None:
        for event in events(5, prefix):
            producer.send(proxied_topic, value=event)
        producer.flush(15)

    def read(count: int, timeout: float) -> list[bytes]:
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                values.append(message.value())
        return values

    try:
        consumer.subscribe([proxied_topic])
        send("before")
        assert len(read(5, 20)) == 5
        dropped = proxy.stats.dropped
        proxy.cut(client_id="rdk-a")
        assert proxy.cut_clients == {"rdk-a"}
        send("during")  # the producer's connections are not cut
        during = read(5, 3)
        refused = proxy.stats.dropped - dropped
        proxy.restore(client_id="rdk-a")
        after = read(5 - len(during), 20)
    finally:
        consumer.close()
        producer.close()
    assert during == [], during
    assert refused > 0  # librdkafka reconnected (as rdk-a) and was refused
    assert len(after) == 5, after


# --- rebalance mid-stream ----------------------------------------------------------------


@pytest.fixture
def stream_topic(kafka_broker: KafkaBroker, kafka_topic_factory: Callable[..., str]) -> str:
    return kafka_topic_factory("stream", partitions=3)


@pytest.mark.parametrize("member_reads", [False, True], ids=["holds", "reads-and-commits"])
def test_second_member_joins_and_leaves_mid_stream(
    kafka_broker: KafkaBroker,
    stream_topic: str,
    member_reads: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group = unique_name("g", "rebalance", "")
    sent = events(300)
    member_processed: list[Any] = []
    producer = new_producer(kafka_broker.bootstrap_servers, linger_ms=5)
    with GroupWorker(
        kafka_broker.bootstrap_servers, kafka_broker.consumer_defaults, stream_topic, group
    ) as worker:
        poll_deadline = time.monotonic() + 15
        while not worker.recorder.events and time.monotonic() < poll_deadline:
            time.sleep(0.02)
        for event in sent[:100]:
            producer.send(stream_topic, key=str(event["seq"] % 11), value=event)
            time.sleep(0.005)
        with second_member(
            kafka_broker.bootstrap_servers, stream_topic, group, hold_seconds=1.5,
            consumer_overrides=kafka_broker.consumer_defaults,
            handler=(lambda raw: member_processed.append(raw.value)) if member_reads else None,
            commit=member_reads,
        ) as member:
            for event in sent[100:]:
                producer.send(stream_topic, key=str(event["seq"] % 11), value=event)
                time.sleep(0.01)
        producer.flush(timeout=10)
        producer.close(timeout=5)
        left_at = member.timeline.left_at or time.monotonic()

        def worker_has_all() -> bool:
            return any(what == "assigned" and len(parts) == 3
                       for _, what, parts in worker.recorder.since(left_at))

        deadline = time.monotonic() + 15
        while not worker_has_all() and time.monotonic() < deadline:
            time.sleep(0.05)

        def processed_ids() -> set[str]:
            return {e["event_id"] for e in worker.processed + member_processed}

        deadline = time.monotonic() + 20
        while len(processed_ids()) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Let the last commit land before stopping.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                assert_group_caught_up(kafka_broker.bootstrap_servers, group, stream_topic)
                break
            except AssertionError:
                time.sleep(0.1)
    timeline = member.timeline
    assert timeline.error is None, timeline.describe()
    assert timeline.partitions, timeline.describe()
    assert_delivered(worker.processed + member_processed, sent, exactly_once=False)
    assert_group_caught_up(kafka_broker.bootstrap_servers, group, stream_topic)

    # How long the rebalances took on this broker (reported, loosely bounded).
    assert timeline.left_at is not None and timeline.join_seconds is not None
    back = [t for t, what, parts in worker.recorder.since(timeline.left_at)
            if what == "assigned" and len(parts) == 3]
    assert back, worker.recorder.events
    leave_seconds = back[0] - timeline.left_at
    with capsys.disabled():
        print(f"\n[rebalance] join {timeline.join_seconds:.2f}s, "
              f"back to one member {leave_seconds:.2f}s, "
              f"member held {timeline.partitions}, handled {timeline.records}")
    assert timeline.join_seconds < 10 and leave_seconds < 10
