"""Waiting for an asynchronous outcome: retry a check until it passes or time is up."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from ..waiting import any_result, poll

T = TypeVar("T")


def eventually(check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05) -> T:
    """Call ``check`` until it returns without ``AssertionError``; return its result.

    ``check`` runs at least once. Other exceptions propagate at once. On timeout the
    last ``AssertionError`` is re-raised, its message prefixed with how long we waited
    and how many attempts were made.
    """
    __tracebackhide__ = True
    polled = poll(check, timeout=timeout, interval=interval, done=any_result,
                  retry_on=AssertionError)
    if polled.error is None:
        return cast(T, polled.value)
    name = getattr(check, "__name__", repr(check))
    attempts = polled.attempts
    waited = f"eventually({name}): still failing after {polled.seconds:.2f} s " \
             f"({attempts} attempt{'s' if attempts > 1 else ''}, timeout={timeout:g} s)"
    message = str(polled.error)
    polled.error.args = (f"{waited}; last failure:\n{message}" if message else waited,)
    raise polled.error

