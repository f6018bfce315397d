"""pytest fixtures for network faults: an embedded broker behind a :class:`TcpProxy`.

``kafka_proxied_broker`` is a :class:`~pytest_kafka_patterns.faults.ProxiedBroker`:
clients bootstrap at ``.bootstrap_servers`` (the proxy) and, because the broker
advertises the proxy's address, keep talking through it; ``.proxy.cut()``,
``.proxy.latency(s)`` inject faults.

Scope: the broker and proxy are started once per session (per xdist worker: the proxy
must live in the process that controls it), since a broker per test would cost its
start-up time in every fault scenario; the function-scoped fixture clears faults before
and after each test, and tests use their own topics and groups, so they stay independent.
The broker is always the embedded one (only it can advertise another address), whatever
``--kafka-backend`` says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from . import parts
from ._kafka_quiet import import_kafka
from .errors import KafkaPatternsError
from .fixtures import settings_of

if TYPE_CHECKING:  # imported by the fixture: this part is registered in every run
    from .faults import ProxiedBroker


@pytest.hookimpl(trylast=True)  # after the core has resolved the settings
def pytest_configure(config: pytest.Config) -> None:
    parts.require_core(config, "kafka_patterns_faults")


@pytest.fixture(scope="session")
def kafka_proxied_broker_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxiedBroker]:
    """The session's proxied broker; prefer ``kafka_proxied_broker`` (faults cleared)."""
    import_kafka()  # first, quietly (see ._kafka_quiet)
    from .faults import start_proxied_broker

    settings = settings_of(request.config).kafka
    try:
        proxied = start_proxied_broker(settings, tmp_path_factory.mktemp("kafka_proxied"))
    except KafkaPatternsError as exc:
        pytest.fail(f"kafka_proxied_broker: {exc}", pytrace=False)
    try:
        yield proxied
    finally:
        proxied.stop()


@pytest.fixture
def kafka_proxied_broker(kafka_proxied_broker_session: ProxiedBroker) -> Iterator[ProxiedBroker]:
    """An embedded broker reached through a fault-injecting TCP proxy, with no fault on."""
    kafka_proxied_broker_session.reset_faults()
    try:
        yield kafka_proxied_broker_session
    finally:
        kafka_proxied_broker_session.reset_faults()
