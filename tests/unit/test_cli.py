"""``kafka-patterns up``: argument parsing, the port-in-use error, the banner."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from pytest_kafka_patterns import KafkaBroker, RedisServer, cli
from pytest_kafka_patterns.backends import Running, embedded
from pytest_kafka_patterns.errors import PortTaken, ServiceStartError


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def parse(*argv: str) -> Any:
    return cli.build_parser().parse_args(argv)


def test_defaults_are_the_usual_ports() -> None:
    args = parse("up")
    assert (args.command, args.kafka_port, args.redis_port, args.no_redis) == (
        "up", 9092, 6379, False)


def test_zero_means_any_port_and_redis_can_be_left_out() -> None:
    args = parse("up", "--kafka-port", "0", "--redis-port", "0", "--no-redis")
    assert (args.kafka_port, args.redis_port, args.no_redis) == (0, 0, True)


@pytest.mark.parametrize("bad", ["-1", "65536", "ninety"])
def test_bad_port_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("up", "--kafka-port", bad)
    assert exit_info.value.code == 2
    assert "--kafka-port" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "service", "others"),
    [("--kafka-port", "Kafka", ["--no-redis"]), ("--redis-port", "Redis", ["--kafka-port", "0"])],
)
def test_port_in_use_exits_2_at_once_and_starts_nothing(
    taken_port: int, option: str, service: str, others: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    children_before = {child.pid for child in psutil.Process().children(recursive=True)}
    # How fast it gives up: benchmarks/quick_checks.py ("up on a taken port").
    code = cli.main(["up", option, str(taken_port), *others])
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {taken_port} for {service} is already in use" in err
    assert f"choose another port with {option} PORT" in err and f"{option} 0" in err
    assert {child.pid for child in psutil.Process().children(recursive=True)} <= children_before


def test_same_port_for_both_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["up", "--kafka-port", "45678", "--redis-port", "45678"]) == 2
    assert "port 45678 for Redis is already in use" in capsys.readouterr().err


def _running(port: int, version: str = "Tansu 0.6.0") -> Running[Any]:
    info = KafkaBroker(bootstrap_servers=f"127.0.0.1:{port}", backend="embedded",
                       version=version, startup_seconds=0.03)
    return Running(info, lambda: None)


def test_a_fixed_port_taken_at_bind_time_is_a_port_error() -> None:
    """The server itself fails to bind (taken after our check): PortInUse, no retry."""
    tried: list[int] = []

    def launch(port: int) -> Any:
        tried.append(port)
        raise ServiceStartError("tansu exited with code 0\nError: AddrInUse")

    with pytest.raises(cli.PortInUse, match="port 9999 for Kafka"):
        cli._start("Kafka", 9999, "--kafka-port", embedded.PORT_TAKEN, launch)
    assert tried == [9999]


def test_a_fixed_port_answered_by_another_server_is_a_port_error() -> None:
    def launch(port: int) -> Any:
        raise PortTaken(f"port {port} answered, but not from the tansu we started", port)

    with pytest.raises(cli.PortInUse, match="port 9999 for Kafka"):
        cli._start("Kafka", 9999, "--kafka-port", embedded.PORT_TAKEN, launch)


def test_port_zero_reports_the_port_the_backend_chose() -> None:
    service = cli._start("Kafka", 0, "--kafka-port", embedded.PORT_TAKEN,
                         lambda port: _running(40123))
    assert service.port == 40123 and service.version == "Tansu 0.6.0"


def test_other_start_failures_are_not_port_errors() -> None:
    def launch(port: int) -> Any:
        raise ServiceStartError("tansu exited with code 1: bad flag")

    with pytest.raises(ServiceStartError, match="bad flag"):
        cli._start("Kafka", 9999, "--kafka-port", embedded.PORT_TAKEN, launch)


def test_banner_gives_addresses_and_service_commands() -> None:
    kafka = cli.Service("Kafka", 9092, _running(9092))
    redis = cli.Service("Redis", 6379, Running(
        RedisServer(host="127.0.0.1", port=6379, backend="process", version="6.2.14"),
        lambda: None))
    lines = cli.banner(kafka, redis).splitlines()
    assert "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092" in lines
    assert "REDIS_URL=redis://127.0.0.1:6379/0" in lines
    assert ("  python -m examples.order_system.email_service --bootstrap-servers 127.0.0.1:9092"
            " --redis-url redis://127.0.0.1:6379/0") in lines
    without_redis = cli.banner(kafka, None)
    assert "REDIS_URL" not in without_redis and "--redis-url" not in without_redis


@pytest.mark.parametrize("bad", ["0", "-2", "three"])
def test_cluster_size_must_be_a_number_of_brokers(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("up", "--cluster", bad)
    assert exit_info.value.code == 2
    assert "--cluster" in capsys.readouterr().err
    assert parse("up", "--cluster", "3").cluster == 3


def test_a_cluster_banner_gives_every_brokers_address() -> None:
    servers = "127.0.0.1:1001,127.0.0.1:1002,127.0.0.1:1003"
    broker = KafkaBroker(bootstrap_servers=servers, backend="cluster", version="4.4.0")
    kafka = cli.Service("Kafka cluster (3 brokers)", 0, Running(broker, lambda: None))
    lines = cli.banner(kafka, None).splitlines()
    assert f"KAFKA_BOOTSTRAP_SERVERS={servers}" in lines
    assert lines[0].startswith("Kafka cluster (3 brokers): 4.4.0 (in a temporary directory)")
