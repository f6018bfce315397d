"""The plugin as a user meets it: options, env, ini, header, errors, markers."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_header_reports_backends_and_where_settings_came_from(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_REDIS_BACKEND", "process")
    monkeypatch.delenv("PYTEST_KAFKA_CACHE_DIR", raising=False)  # set by tests/conftest.py
    # The CI leg that runs the suite against a cluster sets the address in the environment.
    monkeypatch.delenv("PYTEST_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    pytester.makeini("[pytest]\nkafka_backend = external\nkafka_bootstrap_servers = ini:1\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--kafka-backend=embedded")
    result.stdout.fnmatch_lines([
        "kafka-patterns: kafka backend=embedded, redis backend=process, "
        "kafka_backend from --kafka-backend, kafka_bootstrap_servers from ini "
        "kafka_bootstrap_servers, redis_backend from $PYTEST_REDIS_BACKEND"
    ])
    result.assert_outcomes(passed=1)


def test_environment_beats_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_BACKEND", "embedded")
    pytester.makeini("[pytest]\nkafka_backend = docker\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(["*kafka backend=embedded*from $PYTEST_KAFKA_BACKEND*"])


def test_unknown_backend_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--kafka-backend=zookeeper")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*--kafka-backend='zookeeper' is not a valid kafka_backend; choose one of: "
        "auto, embedded, docker, local, apache, cluster, external.*"
    ])


def test_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines([
        "*real, ephemeral Kafka and Redis*",
        "*--kafka-backend=auto|embedded|docker|local|apache|cluster|external*",
        "*--redis-url=REDIS_URL*",
    ])


def test_external_without_address_fails_fast_and_says_how_to_fix(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    pytester.makepyfile("def test_needs_kafka(kafka_broker): pass")
    started = time.monotonic()
    result = pytester.runpytest_inprocess("--kafka-backend=external")
    assert time.monotonic() - started < 10
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*kafka_broker: --kafka-backend=external needs an address: pass "
        "--kafka-bootstrap-servers host:port or set PYTEST_KAFKA_BOOTSTRAP_SERVERS.*"
    ])


def test_unreachable_external_broker_names_address_and_time(pytester: pytest.Pytester) -> None:
    from pytest_kafka_patterns.ports import free_port

    address = f"127.0.0.1:{free_port()}"
    pytester.makepyfile("def test_needs_kafka(kafka_broker): pass")
    started = time.monotonic()
    result = pytester.runpytest_inprocess(
        "--kafka-backend=external", f"--kafka-bootstrap-servers={address}",
        "--kafka-startup-timeout=1",
    )
    assert time.monotonic() - started < 10
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*no Kafka broker answered at {address} (tried for 1.* s)*"])


def test_unreachable_external_redis(pytester: pytest.Pytester) -> None:
    from pytest_kafka_patterns.ports import free_port

    port = free_port()
    pytester.makepyfile("def test_needs_redis(redis_client): pass")
    result = pytester.runpytest_inprocess(
        "--redis-backend=external", f"--redis-url=redis://127.0.0.1:{port}",
        "--redis-startup-timeout=0.5",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*no Redis answered PING at 127.0.0.1:{port}*"])


def test_missing_broker_binary_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_kafka(kafka_broker): pass")
    result = pytester.runpytest_inprocess(
        "--kafka-backend=embedded", "--tansu-bin=/nonexistent/tansu"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--tansu-bin='/nonexistent/tansu' is not an executable file.*"])


def test_missing_redis_binary_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_redis(redis_server): pass")
    result = pytester.runpytest_inprocess(
        "--redis-backend=process", "--redis-exec=no-such-redis-server"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*PYTEST_REDIS_EXEC='no-such-redis-server' is not an exec*"])


def test_broker_that_exits_early_shows_its_log(pytester: pytest.Pytester) -> None:
    fake = pytester.path / "fake-tansu"
    fake.write_text("#!/bin/sh\necho 'config error: no such listener' >&2\nexit 3\n")
    fake.chmod(0o755)
    pytester.makepyfile("def test_needs_kafka(kafka_broker): pass")
    result = pytester.runpytest_inprocess("--kafka-backend=embedded", f"--tansu-bin={fake}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*tansu exited with code 3 before it was ready.*",
        "*config error: no such listener*",
    ])


def test_a_failed_start_is_reported_once_per_test_without_retrying(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        "def test_a(kafka_broker): pass\n"
        "def test_b(kafka_broker): pass\n"
        "def test_c(): pass\n"
    )
    started = time.monotonic()
    result = pytester.runpytest_inprocess(
        "--kafka-backend=external", "--kafka-bootstrap-servers=127.0.0.1:1",
        "--kafka-startup-timeout=1",
    )
    assert time.monotonic() - started < 10  # the second test reuses the cached failure
    result.assert_outcomes(passed=1, errors=2)


def test_kafka_requires_skips_with_reason_and_runs_when_supported(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kafka_requires("read_committed")
        def test_needs_read_committed(): pass

        @pytest.mark.kafka_requires("transactions")
        def test_needs_transactions(kafka_broker):
            assert kafka_broker.supports("transactions")
        """
    )
    from pytest_kafka_patterns.capabilities import tansu_capabilities

    result = pytester.runpytest_inprocess(*local_backends, "-rs")
    if "transactions" in tansu_capabilities():  # kafka-python 3
        result.assert_outcomes(passed=1, skipped=1)
    else:  # kafka-python 2 cannot start transactions on Tansu
        result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines([
        "*the embedded Kafka backend (tansu *) lacks read_committed (read_committed consumers "
        "do not see aborted records)*"
    ])


def test_kafka_requires_rejects_unknown_names(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kafka_requires("transactionz")
        def test_typo(): pass
        """
    )
    result = pytester.runpytest_inprocess(*local_backends)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown Kafka capability 'transactionz'; known: *"])


def test_summary_lists_the_services_started(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    pytester.makepyfile("def test_both(kafka_broker, redis_server): pass")
    result = pytester.runpytest_inprocess(*local_backends)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*kafka-patterns services*",
        "kafka_broker: embedded tansu * at 127.0.0.1:*, ready in *s",
        "redis_server: process * at 127.0.0.1:*, ready in *s",
    ])


def test_docker_asked_for_without_an_engine_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-docker.sock")
    pytester.makepyfile("def test_needs_kafka(kafka_broker): pass")
    started = time.monotonic()
    result = pytester.runpytest_inprocess("--kafka-backend=docker")
    assert time.monotonic() - started < 10
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*kafka_broker: no Docker engine answered at *no-docker.sock*"])


def test_a_run_without_services_creates_no_basetemp(pytester: pytest.Pytester) -> None:
    """Issue 15 (11): the terminal summary created the basetemp on every run, so an
    unusable --basetemp broke even a run with no Kafka test."""
    blocker = pytester.path / "a-file"
    blocker.write_text("not a directory")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess(f"--basetemp={blocker}/basetemp")
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    unused = pytester.path / "unused-basetemp"
    pytester.runpytest_inprocess(f"--basetemp={unused}").assert_outcomes(passed=1)
    assert not unused.exists()


def test_the_summary_lists_services_started_by_xdist_workers(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    pytester.makepyfile("def test_redis(redis_server): pass")
    result = pytester.runpytest_subprocess(*local_backends, "-n", "1", "-p", "xdist")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*kafka-patterns services*",
        "redis_server: process * at 127.0.0.1:*, ready in *s",
    ])


def test_kafka_read_client_chooses_what_kafka_read_reads_with(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: ``auto`` by default; the flag beats the ini; an unknown client is a
    usage error naming the choices."""
    monkeypatch.delenv("PYTEST_KAFKA_READ_CLIENT", raising=False)
    pytester.makeini("[pytest]\nkafka_read_client = confluent-kafka\n")
    pytester.makepyfile(
        "def test_client(kafka_read):\n"
        "    assert kafka_read.keywords['client'] == 'kafka-python'\n"
    )
    result = pytester.runpytest_inprocess("--kafka-read-client=Kafka-Python")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest_inprocess("--kafka-read-client=librdkafka")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*--kafka-read-client='librdkafka' is not a valid kafka_read_client; choose one of: "
        "auto, confluent-kafka, kafka-python.*"
    ])
