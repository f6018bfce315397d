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


def log_tail(text: str, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a log, indented for inclusion in an error."""
    clean = _ANSI.sub("", text)
    tail = [line for line in clean.splitlines() if line.strip()][-lines:]
    if not tail:
        return "    (the log is empty)"
    return "\n".join(f"    {line}" for line in tail)
