"""Exceptions raised by the plugin; each message says what is wrong and how to fix it."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class KafkaPatternsError(Exception):
    """Base class of every error this plugin raises on purpose."""


class ConfigError(KafkaPatternsError):
    """An option, environment variable or ini setting has a value we cannot use."""


class BackendUnavailable(KafkaPatternsError):
    """The chosen backend cannot run here (missing binary, no Docker engine, no Java...)."""


class ServiceStartError(KafkaPatternsError):
    """A service was started but did not become ready (it exited, or the deadline passed)."""


class PortTaken(ServiceStartError):
    """Another program holds (or grabbed) the port our server was to listen on."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


class ServiceUnreachable(KafkaPatternsError):
    """An external service did not answer at the address we were given."""


class TopicNotFound(KafkaPatternsError, AssertionError):
    """A reading helper or assertion was given a topic the broker does not have.

    Every helper that takes a topic (``read_topic`` / ``kafka_read``, ``high_watermarks``,
    ``committed_offsets``, ``group_progress``, ``assert_group_caught_up``,
    ``assert_no_more_records``, ``poll_records``) raises it, so a misspelt or never-created
    topic fails the test the same way everywhere; an ``AssertionError``, so pytest reports
    it as a failed check. ``topic``: the name asked for.
    """

    def __init__(self, helper: str, topic: str, where: str = "", waited: float = 0.0) -> None:
        place = f" on {where}" if where else ""
        after = f" (waited {waited:.1f} s for it)" if waited > 0 else ""
        super().__init__(
            f"{helper}: topic {topic!r} does not exist{place}{after}. Create it first "
            "(kafka_topic_factory, or your code's admin step), or check the topic name "
            "and the broker address."
        )
        self.topic = topic


def log_tail(text: str, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a log, indented for inclusion in an error."""
    clean = _ANSI.sub("", text)
    tail = [line for line in clean.splitlines() if line.strip()][-lines:]
    if not tail:
        return "    (the log is empty)"
    return "\n".join(f"    {line}" for line in tail)
