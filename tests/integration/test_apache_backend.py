"""The apache backend for real: Maven fetches Kafka's jars, Java runs the broker.

These need ``java`` (17+) and, for the fetching tests, ``mvn`` with a reachable
repository (or a local repository that already holds Kafka's jars). Each bad-input
path is checked to fail with its fix, within seconds, and to leave nothing running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from kafka import KafkaConsumer, KafkaProducer

from pytest_kafka_patterns.backends import apache
from pytest_kafka_patterns.config import DEFAULT_APACHE_KAFKA_VERSION, KafkaSettings
from pytest_kafka_patterns.errors import BackendUnavailable, ConfigError, ServiceStartError

VERSION = DEFAULT_APACHE_KAFKA_VERSION


@pytest.fixture(scope="module")
def installation() -> apache.Installation:
    """The default version in the user's cache (fetched now if it is not there yet)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java here; the apache backend needs Java 17+")
    cache = apache.cache_root(KafkaSettings())
    if shutil.which("mvn") is None and not (cache / VERSION / apache.MANIFEST).is_file():
        pytest.skip(f"no mvn here and Kafka {VERSION} is not in {cache}")
    return apache.provision_for(KafkaSettings(backend="apache"))


@pytest.fixture(autouse=True)
def own_pidfiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path / "state"))


def copy_of(installation: apache.Installation, cache: Path) -> Path:
    """The cached version's jars and manifest, copied into another cache dir."""
    target = cache / installation.version
    (target / "libs").mkdir(parents=True)
    for jar in installation.jars:
        shutil.copy2(jar, target / "libs" / jar.name)
    shutil.copy2(installation.root / apache.MANIFEST, target / apache.MANIFEST)
    return target


def path_with(tmp_path: Path, *programs: str) -> str:
    """A PATH holding only symlinks to ``programs`` (as found on the real PATH)."""
    directory = tmp_path / f"bin-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    for program in programs:
        found = shutil.which(program)
        if found is None:
            pytest.skip(f"no {program} on PATH")
        (directory / program).symlink_to(found)
    return str(directory)


def test_round_trip_and_a_fresh_group_with_client_defaults(
    installation: apache.Installation, tmp_path: Path
) -> None:
    running = apache.start_kafka(KafkaSettings(backend="apache"), tmp_path / "work")
    try:
        broker = running.info
        assert broker.backend == "apache" and broker.version == VERSION
        assert broker.capabilities == apache.broker_info(1, "apache", VERSION, 0).capabilities
        assert running.process is not None
        jvm = psutil.Process(running.process.pid)
        assert "kafka.Kafka" in jvm.cmdline()

        topic = f"apache-{uuid.uuid4().hex[:8]}"
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        producer.send(topic, b"hello").get(timeout=30)
        producer.close()
        # kafka-python's own defaults (10 s session, no tuning): the generated config has
        # no initial rebalance delay, so a fresh group is assigned at once.
        consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers,
                                 group_id=f"g-{topic}", auto_offset_reset="earliest")
        try:
            started = time.monotonic()
            values: list[bytes] = []
            while not values and time.monotonic() - started < 30:
                for records in consumer.poll(timeout_ms=200).values():
                    values += [record.value for record in records]
            joined = time.monotonic() - started
        finally:
            consumer.close()
        assert values == [b"hello"]
        assert joined < 10, f"a fresh group with client defaults took {joined:.1f} s"
    finally:
        running.stop()
    assert not jvm.is_running() or jvm.status() == psutil.STATUS_ZOMBIE
    log = next((tmp_path / "work").glob("kafka-*/kafka.log")).read_text()
    assert "Kafka Server started" in log  # log4j2 reached the log through the binding


def test_no_java_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", path_with(tmp_path, "mvn"))
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"No Java found.*Install Java 17"):
        apache.start_kafka(KafkaSettings(cache_dir=tmp_path / "cache"), tmp_path / "work")
    assert time.monotonic() - started < 2
    assert not (tmp_path / "cache").exists()  # checked before any fetch


def test_no_mvn_and_an_empty_cache_in_a_pytest_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setenv("PATH", path_with(tmp_path, "java"))
    pytester.makepyfile("def test_needs_kafka(kafka_broker): pass")
    started = time.monotonic()
    result = pytester.runpytest_inprocess(
        "--kafka-backend=apache", f"--kafka-cache-dir={tmp_path / 'cache'}",
        "--redis-backend=process")
    assert time.monotonic() - started < 15
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*kafka_broker: Apache Kafka * is not in the cache * there is no `mvn` on PATH*",
    ])
    assert "apt-get install maven" in result.stdout.str()


def test_a_version_that_does_not_resolve_names_those_that_do(tmp_path: Path) -> None:
    if shutil.which("mvn") is None:
        pytest.skip("needs mvn")
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        apache.provision("4.9.99", tmp_path / "cache", lambda line: None)
    took = time.monotonic() - started
    message = str(caught.value)
    assert "Apache Kafka 4.9.99 (org.apache.kafka:kafka_2.13:4.9.99) does not resolve" in message
    assert f"{VERSION}" in message.split("Versions Maven knows:")[1]
    assert "--kafka-version" in message
    assert took < 90, took
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".4.9.99.lock"]  # no leftovers


def test_damaged_cache_is_fetched_again(
    installation: apache.Installation, tmp_path: Path
) -> None:
    if shutil.which("mvn") is None:
        pytest.skip("needs mvn")
    directory = copy_of(installation, tmp_path / "cache")
    victim = directory / "libs" / f"kafka_2.13-{VERSION}.jar"
    victim.write_bytes(victim.read_bytes()[:1000])  # as a killed copy would leave it
    lines: list[str] = []
    fixed = apache.provision(VERSION, tmp_path / "cache", lines.append)
    assert "damaged" in lines[0] and "fetching it again" in lines[0]
    assert any("is cached:" in line for line in lines)
    assert victim.stat().st_size == (installation.root / "libs" / victim.name).stat().st_size
    assert fixed.jars == tuple(directory / "libs" / jar.name for jar in installation.jars)
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.name != VERSION]
    assert leftovers == [f".{VERSION}.lock"]


PROVISION = """
import sys
from pathlib import Path
from pytest_kafka_patterns.backends import apache
apache.provision(sys.argv[1], Path(sys.argv[2]), lambda line: print(line, flush=True))
print("ok")
"""


def test_concurrent_first_fetches_fetch_once(tmp_path: Path) -> None:
    if shutil.which("mvn") is None:
        pytest.skip("needs mvn")
    cache = tmp_path / "cache"
    runs = [subprocess.Popen([sys.executable, "-c", PROVISION, VERSION, str(cache)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(3)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert all(out.rstrip().endswith("ok") for out in outputs), outputs
    assert sum(out.count("fetching Apache Kafka") for out in outputs) == 1, outputs
    assert apache.load_installation(cache / VERSION, VERSION) is not None


def test_progress_on_the_first_fetch_then_silence(
    installation: apache.Installation, pytester: pytest.Pytester, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if shutil.which("mvn") is None:
        pytest.skip("needs mvn")
    # The inner run is a controller even when this test runs in an xdist worker.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_plain="def test_plain(): pass")
    args = ("--kafka-backend=apache", f"--kafka-cache-dir={tmp_path / 'cache'}")
    plain = pytester.runpytest_inprocess(*args)
    plain.assert_outcomes(passed=1)
    assert "Apache Kafka" not in plain.stdout.str(), "a run with no Kafka test fetched"
    assert not (tmp_path / "cache").exists()
    # A test that asks for a Kafka fixture (this one starts no broker) makes the run fetch.
    pytester.makepyfile(test_plain="def test_nothing(kafka_patterns_seed): pass")
    first = pytester.runpytest_inprocess(*args)
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines([
        f"kafka-patterns: fetching Apache Kafka {VERSION} *once only*",
        f"kafka-patterns: Apache Kafka {VERSION} is cached: * jars, * MB in * s.",
    ])
    again = pytester.runpytest_inprocess(*args)
    again.assert_outcomes(passed=1)
    assert "Apache Kafka" not in again.stdout.str()


def test_broker_exiting_during_start_shows_its_log(
    installation: apache.Installation, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    copy_of(installation, cache)
    settings = KafkaSettings(backend="apache", cache_dir=cache)
    apache.start_kafka(settings, tmp_path / "ok").stop()  # formats the storage template
    (template,) = (cache / VERSION).glob("storage-*")
    meta = template / "meta.properties"
    meta.write_text(meta.read_text().replace("node.id=1", "node.id=7"))
    started = time.monotonic()
    with pytest.raises(ServiceStartError) as caught:
        apache.start_kafka(settings, tmp_path / "work")
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert "kafka exited with code" in message and "before it was ready" in message
    assert "node" in message.split("last lines of")[1].lower()
    assert "delete that directory to fetch them again" in message
