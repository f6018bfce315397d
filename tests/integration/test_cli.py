"""``kafka-patterns up`` as a user runs it: a real subprocess, real Kafka and Redis, then a
signal, a clean stop, exit 0, ports closed and no child process left behind."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psutil
import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer

from pytest_kafka_patterns import read_topic
from pytest_kafka_patterns.ports import is_listening
from pytest_kafka_patterns.topics import create_topic

STARTUP_TIMEOUT = 20.0


class Up:
    """A running ``python -m pytest_kafka_patterns up ...`` and its output so far."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest_kafka_patterns", "up", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_until(self, marker: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} within {timeout} s:\n" +
                                     "\n".join(self.output)) from None
            if line is None:
                raise AssertionError(f"exited before {marker!r}:\n" + "\n".join(self.output))
            self.output.append(line)
            if marker in line:
                return "\n".join(self.output)

    def value(self, name: str) -> str:
        match = re.search(rf"^{name}=(\S+)$", "\n".join(self.output), re.MULTILINE)
        assert match, f"no {name}= line in:\n" + "\n".join(self.output)
        return match.group(1)

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=20)
        self.read_until("Stopped", timeout=5)
        return code


@pytest.fixture
def up(process_mark) -> Iterator[type[Up]]:
    """Makes ``Up`` processes; any left running are killed after the test."""
    yield Up


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1].split("/")[0])


def test_up_serves_kafka_and_redis_until_sigint(up) -> None:
    running = up("--kafka-port", "0", "--redis-port", "0")
    running.read_until("Press Ctrl-C", STARTUP_TIMEOUT)
    bootstrap = running.value("KAFKA_BOOTSTRAP_SERVERS")
    redis_url = running.value("REDIS_URL")
    assert f"python -m examples.order_system.email_service --bootstrap-servers {bootstrap}" \
        in "\n".join(running.output)

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        create_topic(admin, "orders", partitions=1)
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send("orders", key=b"order_1", value=b'{"event_type": "order.created"}').get(10)
    producer.close()
    (record,) = read_topic(bootstrap, "orders", min_records=1)
    assert record.key == "order_1" and record.value == {"event_type": "order.created"}

    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    client.close()

    children = psutil.Process(running.process.pid).children(recursive=True)
    assert len(children) == 2  # tansu and redis-server

    assert running.stop(signal.SIGINT) == 0
    assert not is_listening("127.0.0.1", port_of(bootstrap))
    assert not is_listening("127.0.0.1", port_of(redis_url.removeprefix("redis://")))
    assert not [child for child in children if child.is_running()]
    assert "Stopped Kafka and Redis." in running.output[-1]


def test_up_without_redis_stops_on_sigterm(up) -> None:
    running = up("--kafka-port", "0", "--no-redis")
    running.read_until("Press Ctrl-C", STARTUP_TIMEOUT)
    bootstrap = running.value("KAFKA_BOOTSTRAP_SERVERS")
    assert "REDIS_URL" not in "\n".join(running.output)
    (broker,) = psutil.Process(running.process.pid).children(recursive=True)

    assert running.stop(signal.SIGTERM) == 0
    assert not is_listening("127.0.0.1", port_of(bootstrap))
    assert not broker.is_running()
