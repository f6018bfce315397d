"""eventually: retries until the check passes; on timeout re-raises the last failure."""

from __future__ import annotations

import time

import pytest

from pytest_kafka_patterns import eventually


def test_returns_the_checks_result_once_it_passes() -> None:
    calls = []

    def check() -> int:
        calls.append(1)
        assert len(calls) >= 3, f"only {len(calls)} call(s)"
        return len(calls)

    assert eventually(check, timeout=2, interval=0.001) == 3


def test_timeout_reraises_last_assertion_with_wait_time() -> None:
    calls = []

    def check_queue_empty() -> None:
        calls.append(1)
        raise AssertionError(f"queue has {len(calls)} item(s)")

    started = time.monotonic()
    with pytest.raises(AssertionError) as info:
        eventually(check_queue_empty, timeout=0.2, interval=0.02)
    # It kept trying for its whole timeout (a lower bound: a busy machine only adds to it).
    assert time.monotonic() - started >= 0.2 and len(calls) >= 2
    message = str(info.value)
    assert message.startswith("eventually(check_queue_empty): still failing after 0.")
    assert f"({len(calls)} attempts, timeout=0.2 s); last failure:\n" in message
    assert message.endswith(f"queue has {len(calls)} item(s)")


def test_other_exceptions_propagate_at_once() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        eventually(broken, timeout=5)
    assert len(calls) == 1


def test_runs_at_least_once_with_zero_timeout() -> None:
    assert eventually(lambda: "ok", timeout=0) == "ok"
