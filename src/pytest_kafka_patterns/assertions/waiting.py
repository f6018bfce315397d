"""Waiting for an asynchronous outcome: retry a check until it passes or time is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05) -> T:
    """Call ``check`` until it returns without ``AssertionError``; return its result.

    ``check`` runs at least once. Other exceptions propagate at once. On timeout the
    last ``AssertionError`` is re-raised, its message prefixed with how long we waited
    and how many attempts were made.
    """
    __tracebackhide__ = True
    started = time.monotonic()
    deadline = started + timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            return check()
        except AssertionError as exc:
            now = time.monotonic()
            if now + interval > deadline:
                name = getattr(check, "__name__", repr(check))
                waited = f"eventually({name}): still failing after {now - started:.2f} s " \
                         f"({attempts} attempt{'s' if attempts > 1 else ''}, " \
                         f"timeout={timeout:g} s)"
                message = str(exc)
                exc.args = (f"{waited}; last failure:\n{message}" if message else waited,)
                raise
        time.sleep(interval)
