"""``external`` measures what the broker can do on connect instead of assuming Apache Kafka.

Pointed at an embedded Tansu broker it must not claim what Tansu lacks; pointed at the
run's broker (``--kafka-backend=apache``: stock Apache Kafka) it claims what that backend
claims, except ``persistence``, which cannot be probed from outside.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_kafka_patterns import parity
from pytest_kafka_patterns.backends import embedded, external
from pytest_kafka_patterns.backends.base import KafkaBroker
from pytest_kafka_patterns.capabilities import kafka_python_major, tansu_capabilities
from pytest_kafka_patterns.config import KafkaSettings

#: What Tansu 0.6 lacks with any client (measured; see capabilities.tansu_capabilities).
TANSU_LACKS = {
    "read_committed",
    "list_offsets_latest",
    "message_size_limits",
    "config_validation",
    "describe_configs",
    "fast_default_join",
    "persistence",
}


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    running = embedded.start_kafka(
        KafkaSettings(backend="embedded"), tmp_path_factory.mktemp("tansu")
    )
    yield running.info
    running.stop()
    parity.forget(running.info.bootstrap_servers)


def test_external_tansu_claims_only_what_it_has(tansu: KafkaBroker, tmp_path: Path) -> None:
    parity.forget(tansu.bootstrap_servers)
    started = time.monotonic()
    running = external.start_kafka(
        KafkaSettings(backend="external", bootstrap_servers=tansu.bootstrap_servers), tmp_path
    )
    seconds = time.monotonic() - started
    broker = running.info
    assert not broker.capabilities & TANSU_LACKS
    assert broker.capabilities == tansu_capabilities()
    # Bounded: the default-group join gives up at 5 s, the other probes run beside it.
    # kafka-python 2's producer waits for a producer id Tansu never gives until the
    # probe's timeout is up.
    limit = parity.FAST_JOIN_SECONDS + 4
    if kafka_python_major() < 3:
        limit = parity.DEFAULT_TIMEOUT + 2
    assert seconds < limit


def test_external_claims_what_the_runs_backend_claims(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    if kafka_broker.backend == "external":
        pytest.skip("the run's broker is itself external: nothing to compare with")
    parity.forget(kafka_broker.bootstrap_servers)
    running = external.start_kafka(
        KafkaSettings(backend="external", bootstrap_servers=kafka_broker.bootstrap_servers),
        tmp_path,
    )
    assert running.info.capabilities == kafka_broker.capabilities - {"persistence"}


def test_external_capabilities_drive_kafka_requires(
    tansu: KafkaBroker, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kafka_requires("read_committed")
        def test_needs_read_committed():
            pass

        @pytest.mark.kafka_requires("compaction")
        def test_needs_compaction():
            pass
        """
    )
    result = pytester.runpytest_inprocess(
        "--kafka-backend=external", f"--kafka-bootstrap-servers={tansu.bootstrap_servers}",
        "-rs",
    )
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*external Kafka backend * lacks read_committed*"])
