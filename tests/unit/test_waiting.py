"""The one poller (waiting.poll): deadline, interval, abort, last error."""

from __future__ import annotations

import itertools

import pytest

from pytest_kafka_patterns.waiting import any_result, poll, wait_until


def test_poll_returns_the_first_value_that_is_done() -> None:
    calls = itertools.count()
    polled = poll(lambda: next(calls), timeout=5, interval=0.001, done=lambda n: n >= 3)
    assert (polled.done, polled.value, polled.attempts, polled.error) == (True, 3, 4, None)


def test_poll_runs_once_when_the_deadline_has_passed() -> None:
    polled = poll(lambda: False, timeout=0)
    assert (polled.done, polled.value, polled.attempts) == (False, False, 1)


def test_abort_ends_the_wait_before_the_deadline() -> None:
    aborts = itertools.count()
    polled = poll(lambda: False, timeout=60, interval=0.001, abort=lambda: next(aborts) >= 2)
    assert not polled.done
    assert polled.attempts == 3


def test_the_last_retried_error_is_kept_and_other_errors_propagate() -> None:
    errors = iter([AssertionError("first"), AssertionError("second")])

    def failing() -> None:
        raise next(errors, AssertionError("last"))

    polled = poll(failing, timeout=0.05, interval=0.001, done=any_result,
                  retry_on=AssertionError)
    assert not polled.done
    assert isinstance(polled.error, AssertionError) and str(polled.error) == "last"

    def broken() -> None:
        raise KeyError("not retried")

    attempts = 0

    def counted() -> None:
        nonlocal attempts
        attempts += 1
        broken()

    with pytest.raises(KeyError):
        poll(counted, timeout=5, retry_on=AssertionError)
    assert attempts == 1


def test_wait_until_gives_seconds_or_none() -> None:
    assert wait_until(lambda: True, timeout=1) is not None
    assert wait_until(lambda: False, timeout=0.02, interval=0.005) is None
    assert wait_until(lambda: False, timeout=60, abort=lambda: True) is None
