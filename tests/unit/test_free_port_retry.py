"""on_free_port: a new port when the server's port was taken, and only then."""

from __future__ import annotations

import pytest

from pytest_kafka_patterns.errors import PortTaken, ServiceStartError
from pytest_kafka_patterns.process import on_free_port


def test_retries_with_a_new_port_when_taken() -> None:
    ports: list[int] = []

    def start(port: int) -> str:
        ports.append(port)
        if len(ports) < 3:
            raise PortTaken(f"port {port} taken", port)
        return "started"

    assert on_free_port(start) == ("started", ports[-1])
    assert len(ports) == 3


def test_other_failures_are_not_retried() -> None:
    calls: list[int] = []

    def start(port: int) -> str:
        calls.append(port)
        raise ServiceStartError("exited with code 3")

    with pytest.raises(ServiceStartError, match="code 3"):
        on_free_port(start)
    assert len(calls) == 1


def test_gives_up_after_the_attempts_and_says_what_happened() -> None:
    calls: list[int] = []

    def start(port: int) -> str:
        calls.append(port)
        raise PortTaken(f"port {port} answered, but not from us\nmore detail", port)

    with pytest.raises(PortTaken) as info:
        on_free_port(start, attempts=2)
    assert len(calls) == 2
    message = str(info.value)
    assert "taken by another program 2 times in a row" in message
    assert all(f"port {port} answered" in message for port in calls)
    assert "more detail" not in message and "pip install" not in message


def test_an_explicit_port_is_tried_once() -> None:
    calls: list[int] = []

    def start(port: int) -> str:
        calls.append(port)
        raise PortTaken("taken", port)

    with pytest.raises(PortTaken):
        on_free_port(start, port=4321)
    assert calls == [4321]
