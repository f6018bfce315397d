"""What the 3-broker ``kafka_cluster`` costs, and how fast it fails over.

    python benchmarks/cluster.py [--starts 3] [--kills 5] [--size 3]

Prints medians (and ranges) of:

* start-up: ``start_cluster`` until every broker is in every broker's metadata (warm jar
  cache and class-data archive, as in a normal run);
* RSS of each broker's JVM right after start-up and after the failovers;
* failover: a producer (``acks="all"``, idempotent, retries) sends every 20 ms to a
  1-partition topic; the partition's leader is SIGKILLed; measured from the SIGKILL to
  (a) the first moment every running broker's metadata names a new leader (polled every
  20 ms in a thread) and (b) the producer's first acknowledgement of a record sent after
  the kill. The killed broker is restarted (and the ISR full again) before the next round.
* isolation: ``isolate(follower, clients=False)`` until every reachable broker's metadata
  shows the ISR without it; ``heal`` until it is back in the ISR; ``isolate(leader)``
  until the others have a new leader (and fenced it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

from pytest_kafka_patterns.backends.cluster import KafkaCluster, start_cluster
from pytest_kafka_patterns.clients import new_producer
from pytest_kafka_patterns.config import KafkaSettings


def show(name: str, values: list[float], unit: str = "s") -> None:
    print(f"{name}: median {statistics.median(values):.2f} {unit} "
          f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})")


def rss_mb(cluster: KafkaCluster) -> list[float]:
    return [psutil.Process(pid).memory_info().rss / 1e6
            for pid in (cluster.pid_of(i) for i in cluster.live_ids) if pid is not None]


def failover(cluster: KafkaCluster) -> tuple[float, float]:
    """Seconds from SIGKILL of the leader to a new leader, and to the next acknowledgement."""
    topic = cluster.create_topic(f"bench-{uuid.uuid4().hex[:8]}")
    leader = cluster.leader_of(topic, 0)
    producer = new_producer(cluster.bootstrap_servers, enable_idempotence=True,
                            retries=1_000_000, retry_backoff_ms=50, request_timeout_ms=5000)
    acks: list[tuple[float, float]] = []  # (sent at, acknowledged at)
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            producer.send(topic, {"event_id": str(sent)}).add_callback(
                lambda _m, sent=sent: acks.append((sent, time.monotonic())))
            time.sleep(0.02)

    new_leader_at: list[float] = []

    def watch() -> None:
        while not stop.is_set():
            views = [m.partitions[0].leader if m and m.partitions else None
                     for m in cluster.metadata(topic).values()]
            if views and all(v is not None and v not in (-1, leader) for v in views):
                new_leader_at.append(time.monotonic())
                return
            time.sleep(0.02)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    while len(acks) < 20:
        time.sleep(0.01)
    killed = time.monotonic()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    cluster.kill(leader)
    watcher.join(60)
    deadline = time.monotonic() + 60
    while not any(sent > killed for sent, _ in acks) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    sender.join()
    producer.close(timeout=5)
    first_ack = min(acked for sent, acked in acks if sent > killed)
    cluster.start(leader)
    cluster.wait_for_isr(topic, 0, cluster.size)
    return new_leader_at[0] - killed, first_ack - killed


def isolation(cluster: KafkaCluster) -> tuple[float, float, float]:
    """Seconds for isolate(follower) -> ISR shrink, heal -> ISR full, isolate(leader) ->
    new leader (then healed)."""
    topic = cluster.create_topic(f"bench-{uuid.uuid4().hex[:8]}")
    leader = cluster.leader_of(topic, 0)
    follower = min(set(cluster.broker_ids) - {leader})
    began = time.monotonic()
    cluster.isolate(follower, clients=False)
    shrink = time.monotonic() - began
    assert follower not in cluster.isr_of(topic, 0)
    began = time.monotonic()
    cluster.heal(follower)
    heal = time.monotonic() - began
    began = time.monotonic()
    cluster.isolate(leader)
    moved = time.monotonic() - began
    assert cluster.leader_of(topic, 0) != leader
    cluster.heal(leader)
    return shrink, heal, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--size", type=int, default=3)
    args = parser.parse_args()
    settings = KafkaSettings(backend="apache")
    starts: list[float] = []
    rss: list[float] = []
    leaders: list[float] = []
    acks: list[float] = []
    shrinks: list[float] = []
    heals: list[float] = []
    moves: list[float] = []
    for round_ in range(args.starts):
        with tempfile.TemporaryDirectory() as work:
            began = time.monotonic()
            cluster = start_cluster(settings, Path(work), args.size)
            starts.append(time.monotonic() - began)
            try:
                rss += rss_mb(cluster)
                if round_ == 0:
                    for _ in range(args.kills):  # interleaved: the same load for both
                        leader_s, ack_s = failover(cluster)
                        leaders.append(leader_s)
                        acks.append(ack_s)
                        shrink_s, heal_s, moved_s = isolation(cluster)
                        shrinks.append(shrink_s)
                        heals.append(heal_s)
                        moves.append(moved_s)
                    after = rss_mb(cluster)
                    show("RSS per broker after the failovers", after, "MB")
            finally:
                cluster.close()
    show(f"start-up of {args.size} brokers", starts)
    show("RSS per broker after start-up", rss, "MB")
    show("SIGKILL of the leader -> new leader in every broker's metadata", leaders)
    show("SIGKILL of the leader -> producer's next acknowledged send", acks)
    show("isolate(follower, clients=False) -> ISR without it", shrinks)
    show("heal(follower) -> back in the ISR", heals)
    show("isolate(leader) -> a new leader, the old one fenced", moves)


if __name__ == "__main__":
    main()
