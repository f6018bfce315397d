"""The one poller: try something until it is done, a deadline passes or an abort says stop.

Readiness probes (:func:`wait_until`), the contract harness (with ``abort``) and the
``eventually`` assertion (retrying on ``AssertionError``, re-raising the last one) all
poll through :func:`poll`, which is built on tenacity. The last sleep is cut to the
deadline, so the last attempt happens at the deadline and never after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenacity import RetryCallState, RetryError, Retrying, retry_if_result

T = TypeVar("T")


@dataclass(frozen=True)
class Polled(Generic[T]):
    """How a :func:`poll` ended."""

    done: bool
    """True when an attempt was done (returned a value ``done`` accepts, without error)."""
    value: T | None
    """What the last attempt returned (``None`` when it raised)."""
    error: BaseException | None
    """What the last attempt raised (one of ``retry_on``), else ``None``."""
    attempts: int
    seconds: float
    """Seconds from the first attempt's start to the end of the last one."""


@dataclass(frozen=True)
class _Attempt:
    value: Any
    error: BaseException | None
    fatal: bool = False


def poll(
    attempt: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    done: Callable[[T], bool] = bool,
    abort: Callable[[], bool] | None = None,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> Polled[T]:
    """Call ``attempt`` every ``interval`` seconds until ``done(result)``, for at most
    ``timeout`` seconds, or until ``abort()`` (asked after each attempt that was not
    done) says to give up.

    ``attempt`` runs at least once. An exception of ``retry_on`` counts as "not done"
    (the last one is kept in :attr:`Polled.error`); any other propagates at once.
    """
    __tracebackhide__ = True
    started = time.monotonic()
    deadline = started + timeout
    attempts = 0

    def once() -> _Attempt:
        __tracebackhide__ = True
        nonlocal attempts
        attempts += 1
        try:
            return _Attempt(attempt(), None)
        except retry_on as exc:
            return _Attempt(None, exc)
        except Exception as exc:  # raised below, outside tenacity's frames
            return _Attempt(None, exc, fatal=True)

    def stop(state: RetryCallState) -> bool:
        return time.monotonic() >= deadline or (abort is not None and abort())

    def wait(state: RetryCallState) -> float:
        return max(0.0, min(interval, deadline - time.monotonic()))

    retrying = Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_result(
            lambda last: not last.fatal and (last.error is not None or not done(last.value))
        ),
    )
    try:
        last: _Attempt = retrying(once)
        finished = last.error is None
    except RetryError as exc:
        last = exc.last_attempt.result()
        finished = False
    if last.fatal and last.error is not None:
        raise last.error
    return Polled(finished, last.value, last.error, attempts, time.monotonic() - started)


def any_result(result: object) -> bool:
    """For :func:`poll`'s ``done``: whatever the attempt returned (it did not raise)."""
    return True


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    interval: float = 0.01,
    *,
    abort: Callable[[], bool] | None = None,
) -> float | None:
    """Poll ``check`` until it returns True; seconds taken, or ``None`` on timeout (or
    when ``abort()`` said to stop)."""
    polled = poll(check, timeout=timeout, interval=interval, abort=abort)
    return polled.seconds if polled.done else None
