"""The one poller: try something until it is done, a deadline passes or an abort says stop.

Readiness probes (:func:`wait_until`), the contract harness (with ``abort``) and the
``eventually`` assertion (retrying on ``AssertionError``, re-raising the last one) all
poll through :func:`poll`, which is built on tenacity. The last sleep is cut to the
deadline, so the last attempt happens at the deadline and never after it.
:func:`apoll` is its asyncio twin (tenacity's ``AsyncRetrying``, same rules), for
attempts that must be awaited.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenacity import AsyncRetrying, RetryCallState, RetryError, Retrying, retry_if_result

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


class _Policy:
    """What :func:`poll` and :func:`apoll` share: the deadline, the cut-to-deadline
    wait, the stop and retry rules, and the counting of attempts."""

    def __init__(
        self, timeout: float, interval: float, done: Callable[[Any], bool],
        abort: Callable[[], bool] | None,
    ) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.interval = interval
        self.done = done
        self.abort = abort
        self.attempts = 0

    def stop(self, state: RetryCallState) -> bool:
        return time.monotonic() >= self.deadline or (self.abort is not None and self.abort())

    def wait(self, state: RetryCallState) -> float:
        return max(0.0, min(self.interval, self.deadline - time.monotonic()))

    def again(self, last: _Attempt) -> bool:
        return not last.fatal and (last.error is not None or not self.done(last.value))

    def kwargs(self) -> dict[str, Any]:
        return {"stop": self.stop, "wait": self.wait, "retry": retry_if_result(self.again)}

    def ended(self, last: _Attempt, finished: bool) -> Polled[Any]:
        __tracebackhide__ = True
        if last.fatal and last.error is not None:
            raise last.error
        return Polled(finished, last.value, last.error, self.attempts,
                      time.monotonic() - self.started)


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
    policy = _Policy(timeout, interval, done, abort)

    def once() -> _Attempt:
        __tracebackhide__ = True
        policy.attempts += 1
        try:
            return _Attempt(attempt(), None)
        except retry_on as exc:
            return _Attempt(None, exc)
        except Exception as exc:  # raised below, outside tenacity's frames
            return _Attempt(None, exc, fatal=True)

    try:
        last: _Attempt = Retrying(**policy.kwargs())(once)
        finished = last.error is None
    except RetryError as exc:
        last = exc.last_attempt.result()
        finished = False
    return policy.ended(last, finished)


async def apoll(
    attempt: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    interval: float = 0.05,
    done: Callable[[T], bool] = bool,
    abort: Callable[[], bool] | None = None,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> Polled[T]:
    """:func:`poll` for a coroutine function: ``await attempt()`` every ``interval``
    seconds (``asyncio.sleep`` between attempts, so the event loop runs meanwhile), same
    rules. An attempt is never cancelled: one that takes long delays the return past
    ``timeout`` by as much, so keep each attempt short."""
    __tracebackhide__ = True
    policy = _Policy(timeout, interval, done, abort)

    async def once() -> _Attempt:
        __tracebackhide__ = True
        policy.attempts += 1
        try:
            return _Attempt(await attempt(), None)
        except retry_on as exc:
            return _Attempt(None, exc)
        except Exception as exc:  # raised below, outside tenacity's frames
            return _Attempt(None, exc, fatal=True)

    try:
        last: _Attempt = await AsyncRetrying(**policy.kwargs())(once)
        finished = last.error is None
    except RetryError as exc:
        last = exc.last_attempt.result()
        finished = False
    return policy.ended(last, finished)


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
