"""The one poller (waiting.poll, and its asyncio twin apoll): deadline, interval, abort,
last error."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from pytest_kafka_patterns.waiting import Polled, any_result, apoll, poll, wait_until


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


def test_apoll_follows_polls_rules() -> None:
    """Done value, one attempt past the deadline, abort, the last retried error kept and
    any other raised at once: as :func:`poll` does, with awaited attempts."""
    calls = itertools.count()

    async def counting() -> int:
        return next(calls)

    async def never() -> bool:
        return False

    async def failing() -> None:
        raise AssertionError("retried")

    async def broken() -> None:
        raise KeyError("not retried")

    async def main() -> list[Polled[object]]:
        aborts = itertools.count()
        return [
            await apoll(counting, timeout=5, interval=0.001, done=lambda n: n >= 3),
            await apoll(never, timeout=0),
            await apoll(never, timeout=60, interval=0.001, abort=lambda: next(aborts) >= 2),
            await apoll(failing, timeout=0.05, interval=0.001, done=any_result,
                        retry_on=AssertionError),
        ]

    done, late, aborted, retried = asyncio.run(main())
    assert (done.done, done.value, done.attempts, done.error) == (True, 3, 4, None)
    assert (late.done, late.value, late.attempts) == (False, False, 1)
    assert (aborted.done, aborted.attempts) == (False, 3)
    assert not retried.done and str(retried.error) == "retried" and retried.attempts > 1
    with pytest.raises(KeyError):
        asyncio.run(apoll(broken, timeout=5, retry_on=AssertionError))


def test_apoll_lets_the_event_loop_run_between_attempts() -> None:
    """The wait between attempts is an ``asyncio.sleep``: a task started beside the poll
    makes progress meanwhile, and the poll ends at its deadline, not before."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def never() -> bool:
        return False

    async def main() -> Polled[bool]:
        task = asyncio.get_running_loop().create_task(ticker())
        try:
            return await apoll(never, timeout=0.2, interval=0.05)
        finally:
            task.cancel()

    polled = asyncio.run(main())
    assert not polled.done and polled.seconds >= 0.2
    assert ticks >= 10, ticks
