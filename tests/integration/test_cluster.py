"""A real 3-broker Apache Kafka cluster: replication, a leader's death, min.insync.replicas.

No mocks: three JVMs (combined KRaft nodes) from the apache backend's jar cache, one
cluster for the module (``kafka_cluster`` restarts what a test stopped before the next
test). Needs Java 17+ and the jars (cached, or ``mvn`` to fetch them).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import kafka
import psutil
import pytest
from kafka.errors import KafkaError, NotEnoughReplicasAfterAppendError, NotEnoughReplicasError

from pytest_kafka_patterns.assertions.delivery import assert_delivered
from pytest_kafka_patterns.assertions.ordering import assert_ordered_by_key
from pytest_kafka_patterns.backends import apache
from pytest_kafka_patterns.backends.cluster import KafkaCluster
from pytest_kafka_patterns.clients import new_producer
from pytest_kafka_patterns.config import DEFAULT_APACHE_KAFKA_VERSION, KafkaSettings
from pytest_kafka_patterns.probes import kafka_api_versions, kafka_metadata
from pytest_kafka_patterns.reading import read_topic
from pytest_kafka_patterns.waiting import wait_until
from tests.reliability.runs import InnerRun, assert_gone, start_run


def _why_not() -> str | None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java here; the Kafka cluster runs Apache Kafka, which needs Java 17+"
    cache = apache.cache_root(KafkaSettings())
    if shutil.which("mvn") is None and not (
        cache / DEFAULT_APACHE_KAFKA_VERSION / apache.MANIFEST
    ).is_file():
        return f"no mvn here and Kafka {DEFAULT_APACHE_KAFKA_VERSION} is not in {cache}"
    return None


pytestmark = [
    pytest.mark.skipif(_why_not() is not None, reason=str(_why_not())),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_three_brokers_replicate_a_topic_three_times(kafka_cluster: KafkaCluster) -> None:
    assert kafka_cluster.live_ids == [1, 2, 3]
    assert len(kafka_cluster.bootstrap_servers.split(",")) == 3
    for broker_id in kafka_cluster.broker_ids:
        host, _, port = kafka_cluster.address_of(broker_id).rpartition(":")
        metadata = kafka_metadata(host, int(port))
        assert metadata is not None and metadata.brokers == (1, 2, 3)

    topic = kafka_cluster.create_topic(_topic("replicated"), partitions=2)

    for broker_id in kafka_cluster.broker_ids:  # every broker's own view
        host, _, port = kafka_cluster.address_of(broker_id).rpartition(":")
        metadata = kafka_metadata(host, int(port), topic)
        assert metadata is not None and metadata.partitions is not None
        for state in metadata.partitions.values():
            assert sorted(state.replicas) == [1, 2, 3]  # default.replication.factor=3
            assert sorted(state.isr) == [1, 2, 3]
    assert kafka_cluster.isr_of(topic, 0) == [1, 2, 3]
    assert kafka_cluster.leader_of(topic, 1) in (1, 2, 3)


class _Stream:
    """Sends ``{"event_id": "e<n>"}`` records in a thread until stopped; keeps which were
    acknowledged (with the time) and which failed."""

    def __init__(self, cluster: KafkaCluster, topic: str, keys: int = 0, **settings: Any) -> None:
        self.producer = new_producer(cluster.bootstrap_servers, **{
            "enable_idempotence": True, "retries": 1_000_000, "retry_backoff_ms": 50,
            "request_timeout_ms": 5000, "linger_ms": 0, **settings,
        })
        self.topic = topic
        self.keys = keys
        """Cycle the records over this many keys (``k0``...), with a per-key ``seq``; 0: no key."""
        self.acked: list[tuple[float, dict[str, str]]] = []
        self.failed: list[tuple[dict[str, str], BaseException]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            event = {"event_id": f"e{n}"}
            key = None
            if self.keys:
                key = f"k{n % self.keys}"
                event |= {"key": key, "seq": str(n // self.keys)}
            n += 1
            future = self.producer.send(self.topic, event, key=key)
            future.add_callback(self._ok, event)
            future.add_errback(self._error, event)
            time.sleep(0.02)

    def _ok(self, event: dict[str, str], _metadata: Any) -> None:
        with self._lock:
            self.acked.append((time.monotonic(), event))

    def _error(self, event: dict[str, str], exc: BaseException) -> None:
        with self._lock:
            self.failed.append((event, exc))

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def __enter__(self) -> _Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.producer.flush(timeout=30)
        self.producer.close(timeout=5)


def test_acks_all_survives_the_leader_being_killed(kafka_cluster: KafkaCluster) -> None:
    topic = kafka_cluster.create_topic(_topic("failover"))
    leader = kafka_cluster.leader_of(topic, 0)

    with _Stream(kafka_cluster, topic) as stream:
        assert wait_until(lambda: stream.count() >= 20, 20), "no records acknowledged"
        kafka_cluster.kill(leader)  # mid-stream: the producer keeps sending
        new_leader = kafka_cluster.leader_of(topic, 0)
        after_kill = stream.count()
        assert wait_until(lambda: stream.count() >= after_kill + 20, 30), (
            f"the producer got no acknowledgement from the new leader: {stream.failed[:3]}"
        )

    assert new_leader != leader and new_leader in kafka_cluster.live_ids
    assert kafka_cluster.isr_of(topic, 0) == sorted(set(kafka_cluster.broker_ids) - {leader})
    assert stream.failed == []
    acknowledged = [event for _, event in stream.acked]
    records = read_topic(kafka_cluster.bootstrap_servers, topic, min_records=len(acknowledged))
    # Idempotent producer: a send retried across the failover is stored once.
    assert_delivered(records, acknowledged, exactly_once=True)


def test_acks_all_fails_loudly_below_min_insync_replicas(kafka_cluster: KafkaCluster) -> None:
    topic = kafka_cluster.create_topic(_topic("below-min-isr"))
    leader = kafka_cluster.leader_of(topic, 0)
    producer = new_producer(kafka_cluster.bootstrap_servers, retries=0)
    try:
        producer.send(topic, {"event_id": "before"}).get(timeout=30)  # ISR 3: fine

        for follower in sorted(set(kafka_cluster.broker_ids) - {leader}):
            kafka_cluster.stop(follower)
        assert kafka_cluster.isr_of(topic, 0) == [leader]  # 1 < min.insync.replicas=2

        future = producer.send(topic, {"event_id": "after"})
        with pytest.raises((NotEnoughReplicasError, NotEnoughReplicasAfterAppendError)):
            future.get(timeout=30)
    finally:
        producer.close(timeout=5)
    records = read_topic(kafka_cluster.bootstrap_servers, topic, min_records=1, timeout=3)
    assert [record.value for record in records] == [{"event_id": "before"}]


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return kafka_api_versions(host, int(port), timeout=2.0)


def test_isolating_the_leader_moves_leadership_and_heal_brings_it_back(
    kafka_cluster: KafkaCluster,
) -> None:
    topic = kafka_cluster.create_topic(_topic("isolated-leader"))
    leader = kafka_cluster.leader_of(topic, 0)

    kafka_cluster.isolate(leader)  # from the other brokers, the quorum and clients

    assert kafka_cluster.isolated_ids == [leader]
    assert kafka_cluster.leader_of(topic, 0) != leader
    assert kafka_cluster.isr_of(topic, 0) == sorted(set(kafka_cluster.broker_ids) - {leader})
    assert leader in kafka_cluster.live_ids  # the process runs: only the network is cut
    assert not _reachable(kafka_cluster.address_of(leader))  # clients cannot reach it
    assert _reachable(kafka_cluster.direct_address_of(leader))
    assert kafka_cluster.address_of(leader) not in kafka_cluster.bootstrap_servers

    kafka_cluster.heal(leader)

    assert kafka_cluster.isolated_ids == []
    assert kafka_cluster.isr_of(topic, 0) == kafka_cluster.broker_ids
    assert _reachable(kafka_cluster.address_of(leader))


def test_a_follower_isolated_from_brokers_only_leaves_the_isr_but_serves_clients(
    kafka_cluster: KafkaCluster,
) -> None:
    topic = kafka_cluster.create_topic(_topic("isolated-follower"))
    leader = kafka_cluster.leader_of(topic, 0)
    follower = min(set(kafka_cluster.broker_ids) - {leader})

    kafka_cluster.isolate(follower, clients=False)

    assert kafka_cluster.leader_of(topic, 0) == leader  # a follower's loss moves nothing
    assert follower not in kafka_cluster.isr_of(topic, 0)
    assert _reachable(kafka_cluster.address_of(follower))  # clients still get through

    kafka_cluster.heal(follower)
    assert kafka_cluster.isr_of(topic, 0) == kafka_cluster.broker_ids


def test_acks_1_loses_what_an_isolated_leader_acknowledged(kafka_cluster: KafkaCluster) -> None:
    """The negative control: acks=1 acknowledges a write only the leader has. Isolating
    the leader from the other brokers (and the controller quorum), not from the producer,
    makes the others elect a new leader while the old one keeps acknowledging; when it
    rejoins it truncates its log to the new leader's (KIP-101), and those writes are gone.
    Deterministic: every "during" write is sent after the new leader was elected."""
    topic = kafka_cluster.create_topic(_topic("acks-1-loss"))
    leader = kafka_cluster.leader_of(topic, 0)
    one = new_producer(kafka_cluster.bootstrap_servers, acks=1, retries=0, linger_ms=0)
    everyone = new_producer(kafka_cluster.bootstrap_servers, acks="all", linger_ms=0)
    acked: dict[str, int] = {}
    try:
        for n in range(5):
            event = {"event_id": f"before-{n}"}
            acked[event["event_id"]] = one.send(topic, event).get(timeout=30).offset
        # acks=all after them: acknowledged once every in-sync replica has the log to here.
        sync = {"event_id": "replicated"}
        acked[sync["event_id"]] = everyone.send(topic, sync).get(timeout=30).offset

        kafka_cluster.isolate(leader, clients=False)  # returns once a new leader is elected
        new_leader = kafka_cluster.leader_of(topic, 0)
        assert new_leader != leader

        for n in range(5):  # the producer's metadata still names the old leader
            event = {"event_id": f"during-{n}"}
            acked[event["event_id"]] = one.send(topic, event).get(timeout=30).offset
    finally:
        one.close(timeout=5)
        everyone.close(timeout=5)

    kafka_cluster.heal(leader)  # back in the ISR: it truncated to the new leader's log
    records = read_topic(kafka_cluster.bootstrap_servers, topic, min_records=len(acked), timeout=5)
    lost = {ident: offset for ident, offset in acked.items() if ident.startswith("during")}
    with pytest.raises(AssertionError, match="5 of 11 expected event\\(s\\) missing") as failure:
        assert_delivered(records, [{"event_id": ident} for ident in acked])
    message = str(failure.value)
    assert all(ident in message for ident in lost), message
    assert [record.value["event_id"] for record in records] == [
        *(f"before-{n}" for n in range(5)), "replicated"
    ], f"acks=1 writes acknowledged by the isolated leader at offsets {lost} were not lost"


def test_acks_all_does_not_acknowledge_what_an_isolated_leader_cannot_replicate(
    kafka_cluster: KafkaCluster,
) -> None:
    """The same partition as the acks=1 loss, with acks=all: the isolated leader cannot get
    its followers' fetches, so it never acknowledges; the producer sees an error, not a
    silent loss, and every acknowledged record survives the heal."""
    topic = kafka_cluster.create_topic(_topic("acks-all-isolated"))
    leader = kafka_cluster.leader_of(topic, 0)
    producer = new_producer(kafka_cluster.bootstrap_servers, acks="all", retries=0,
                            linger_ms=0, request_timeout_ms=3000)
    acked: list[dict[str, str]] = []
    try:
        for n in range(5):
            event = {"event_id": f"before-{n}"}
            producer.send(topic, event).get(timeout=30)
            acked.append(event)
        kafka_cluster.isolate(leader, clients=False)
        future = producer.send(topic, {"event_id": "during"})
        with pytest.raises(KafkaError):
            future.get(timeout=30)
    finally:
        producer.close(timeout=5)
    kafka_cluster.heal(leader)
    records = read_topic(kafka_cluster.bootstrap_servers, topic, min_records=len(acked))
    assert_delivered(records, acked, exactly_once=True)


def test_an_idempotent_producer_keeps_key_order_across_a_leader_change(
    kafka_cluster: KafkaCluster,
) -> None:
    topic = kafka_cluster.create_topic(_topic("key-order"), partitions=2)
    leaders = {kafka_cluster.leader_of(topic, p) for p in (0, 1)}

    # Five requests in flight per connection: what idempotence keeps in order (KIP-98).
    # kafka-python 2 refuses idempotence with more than one in flight.
    in_flight = 5 if int(kafka.__version__.split(".")[0]) >= 3 else 1
    with _Stream(kafka_cluster, topic, keys=4,
                 max_in_flight_requests_per_connection=in_flight, acks="all") as stream:
        assert wait_until(lambda: stream.count() >= 40, 20), "no records acknowledged"
        victim = kafka_cluster.leader_of(topic, 0)
        kafka_cluster.kill(victim)
        after_kill = stream.count()
        assert wait_until(lambda: stream.count() >= after_kill + 40, 30), (
            f"the producer got no acknowledgement after the failover: {stream.failed[:3]}"
        )
    assert kafka_cluster.leader_of(topic, 0) != victim and leaders
    assert stream.failed == []
    acknowledged = [event for _, event in stream.acked]
    records = read_topic(kafka_cluster.bootstrap_servers, topic, min_records=len(acknowledged))
    assert_delivered(records, acknowledged, exactly_once=True)
    assert_ordered_by_key(records, seq_of=lambda value: int(value["seq"]))


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(
        r"^```python\n# tests/test_replication\.py\n(?P<body>.*?)^```", readme,
        re.MULTILINE | re.DOTALL,
    )
    assert block is not None, "README.md has no tests/test_replication.py example"
    pytester.makepyfile(test_replication=block["body"])
    result = pytester.runpytest_inprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)


#: An inner test that holds a cluster until the outer test writes ``go``, after reporting
#: its brokers' pids and ports in ``seen-<pid>.json`` (see tests/reliability/runs.py).
CLUSTER_HOLDING_TEST = """
import json, os, pathlib, time

HERE = pathlib.Path({here!r})

def test_hold(kafka_cluster):
    ports = [int(address.rpartition(":")[2])
             for address in kafka_cluster.bootstrap_servers.split(",")]
    pids = [kafka_cluster.pid_of(broker_id) for broker_id in kafka_cluster.broker_ids]
    (HERE / f"seen-{{os.getpid()}}.json").write_text(json.dumps({{
        "pid": os.getpid(), "ports": ports, "jvms": pids}}))
    deadline = time.monotonic() + {hold}
    while not (HERE / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
"""


def test_no_cluster_jvm_outlives_a_killed_pytest(
    tmp_path: Path, process_mark: Any, runs: list[InnerRun]
) -> None:
    # A registry of its own: the inner run's pidfiles are then invisible to every other
    # run's reaper (parallel runs on this machine reap orphans whose owner died), so
    # only PR_SET_PDEATHSIG can end the JVMs in time.
    run = start_run(tmp_path, test_text=CLUSTER_HOLDING_TEST,
                    env={"PYTEST_KAFKA_PATTERNS_STATE": str(tmp_path / "state")})
    runs.append(run)
    seen = run.wait_seen(1, timeout=120)
    jvms = [psutil.Process(int(pid)) for pid in seen[0]["jvms"]]  # type: ignore[attr-defined]
    assert len(jvms) == 3
    assert all("kafka.Kafka" in jvm.cmdline() for jvm in jvms)

    run.process.send_signal(signal.SIGKILL)
    run.process.wait(timeout=10)

    assert_gone(process_mark.alive, run.ports(), 30)
    # The ports close before a SIGKILLed JVM has finished exiting (two CI runs caught one
    # in that window), so wait for the processes too, with the same bound.
    # is_running() compares create times: a pid taken again by another process since
    # (CI starts thousands) is not the JVM outliving pytest.
    if wait_until(lambda: not [jvm for jvm in jvms if _still_running(jvm)], timeout=30) is None:
        pytest.fail("JVMs still running 30 s after their pytest was SIGKILLed: "
                    + "; ".join(_describe(jvm) for jvm in jvms if _still_running(jvm)))


def _describe(process: psutil.Process) -> str:
    try:
        return (f"pid {process.pid} {process.status()} parent {process.ppid()} "
                f"{' '.join(process.cmdline())[-60:]}")
    except psutil.Error as exc:
        return f"pid {process.pid}: {exc}"


def _still_running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_example_producers_lose_nothing_when_the_leader_dies(
    kafka_cluster: KafkaCluster,
) -> None:
    """The order service (one awaited acks=all send at a time) and the async publisher
    (batches, callbacks) keep publishing while the leader of their partition is
    SIGKILLed: every event they report as published is in the topic, once, in order per
    order; and none fails (a failover is a few seconds of retries, not an error)."""
    from examples.order_system.async_publisher import AsyncOrderPublisher
    from examples.order_system.order_service import OrderService, PublishError
    from examples.order_system.runtime import Connection

    topic = kafka_cluster.create_topic(_topic("example-producers"))
    leader = kafka_cluster.leader_of(topic, 0)
    connection = Connection(bootstrap_servers=kafka_cluster.bootstrap_servers)
    published: list[dict[str, Any]] = []

    class Recording(OrderService):
        def publish(self, event_type: str, data: Any) -> dict[str, Any]:
            event = super().publish(event_type, data)
            published.append(event)
            return event

    service = Recording(connection, topic)
    publisher = AsyncOrderPublisher(connection)
    items = [{"product_id": "p1", "name": "Widget", "price": 1.5, "quantity": 2}]
    errors: list[BaseException] = []
    stop = threading.Event()

    def publish_orders() -> None:
        n = 0
        while not stop.is_set():
            try:
                service.create_order(f"user-{n}", items)
                event = {"event_id": f"async-{n}", "data": {"order_id": f"async-{n % 3}"},
                         "seq": n}
                publisher.publish(topic, event, key=event["data"]["order_id"])
                published.append(event)
            except PublishError as exc:
                errors.append(exc)
            n += 1
            time.sleep(0.02)

    thread = threading.Thread(target=publish_orders, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: len(published) >= 20, 30), f"nothing published: {errors}"
        kafka_cluster.kill(leader)
        after = len(published)
        assert wait_until(lambda: len(published) >= after + 20, 60), (
            f"publishing stalled after the leader died: {errors[:3]}")
    finally:
        stop.set()
        thread.join(30)
        failures = publisher.flush_and_close(timeout=30).failures
        service.close()
    assert errors == [] and failures == [], (errors[:3], failures[:3])
    records = read_topic(kafka_cluster.bootstrap_servers, topic, min_records=len(published))
    assert_delivered(records, published, exactly_once=True)
    assert_ordered_by_key(records, expected=published)
