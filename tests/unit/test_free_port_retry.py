"""on_free_port: a new port when the server says its port was taken, and only then."""

from __future__ import annotations

import pytest

from pytest_kafka_patterns.errors import ServiceStartError
from pytest_kafka_patterns.process import on_free_port


def test_retries_with_a_new_port_when_taken() -> None:
    ports: list[int] = []

    def start(port: int) -> str:
        ports.append(port)
        if len(ports) < 3:
            raise ServiceStartError("bind failed: AddrInUse")
        return "started"

    assert on_free_port(start, "AddrInUse") == ("started", ports[-1])
    assert len(ports) == 3


def test_other_failures_are_not_retried() -> None:
    calls: list[int] = []

    def start(port: int) -> str:
        calls.append(port)
        raise ServiceStartError("exited with code 3")

    with pytest.raises(ServiceStartError, match="code 3"):
        on_free_port(start, "AddrInUse")
    assert len(calls) == 1


def test_gives_up_after_the_attempts() -> None:
    calls: list[int] = []

    def start(port: int) -> str:
        calls.append(port)
        raise ServiceStartError("AddrInUse")

    with pytest.raises(ServiceStartError):
        on_free_port(start, "AddrInUse", attempts=2)
    assert len(calls) == 2
