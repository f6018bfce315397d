"""pytest entry point: options, markers, the default fixtures and the run summary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import import_module
from importlib.util import find_spec
from typing import Any

import pytest

from . import fixtures, reaper
from .backends import KafkaBroker
from .capabilities import CAPABILITIES, check_known
from .config import OPTIONS, Settings, resolve
from .errors import ConfigError

GROUP = "kafka-patterns"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "real, ephemeral Kafka and Redis (pytest-kafka-patterns)")
    for option in OPTIONS:
        extra = f" [env {option.env}; ini {option.ini}"
        extra += f"; default {option.default}]" if option.default else "]"
        group.addoption(
            option.flag, dest=option.dest, default=None, help=option.help + extra,
            metavar=option.dest.upper() if option.choices is None else "|".join(option.choices),
        )
        parser.addini(option.ini, option.help, default=None)


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = resolve(
            cli=lambda dest: config.getoption(dest),
            ini=lambda name: config.getini(name) or None,
        )
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-kafka-patterns: {exc}") from None
    config.stash[fixtures.SETTINGS_KEY] = settings
    config.addinivalue_line(
        "markers",
        "kafka_requires(*capabilities): skip unless the Kafka backend can do all of them "
        f"({', '.join(CAPABILITIES)}).",
    )
    if not fixtures.worker_id():
        reaper.reap_orphans()
        _reap_orphan_containers()
    if config.pluginmanager.hasplugin("asyncio") and find_spec("aiokafka"):
        config.pluginmanager.register(import_module(".aio", __package__), "kafka_patterns_aio")


def _reap_orphan_containers() -> None:
    """Remove containers a killed run left behind; only where an engine already answers."""
    from .backends.docker import docker_available, reap_orphan_containers

    if docker_available():
        reap_orphan_containers()


def pytest_report_header(config: pytest.Config) -> str:
    settings: Settings = config.stash[fixtures.SETTINGS_KEY]
    chosen = [f"kafka backend={settings.kafka.backend}", f"redis backend={settings.redis.backend}"]
    chosen += [f"{dest} from {source}" for dest, source in sorted(settings.sources.items())]
    return "kafka-patterns: " + ", ".join(chosen)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """List the services this run handed out; touches no file (no basetemp is made)."""
    if fixtures.worker_id():
        return
    services = config.stash.get(fixtures.SERVICES_KEY, {})
    lines = []
    for name, description in sorted(services.items()):
        info = json.loads(description)
        address = info.get("bootstrap_servers") or f"{info.get('host')}:{info.get('port')}"
        lines.append(
            f"{name}: {info['backend']} {info.get('version', '')} at {address}, "
            f"ready in {info.get('startup_seconds', 0.0):.3f} s"
        )
    if lines:
        terminalreporter.write_sep("-", "kafka-patterns services")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: collect the services a finished worker handed out."""
    reported = getattr(node, "workeroutput", {}).get(fixtures.WORKER_OUTPUT_SERVICES, {})
    if reported:
        node.config.stash.setdefault(fixtures.SERVICES_KEY, {}).update(reported)


# The default fixtures, declared with the public factories.
kafka_broker = fixtures.kafka_broker_fixture()
kafka_admin = fixtures.kafka_admin_fixture()
kafka_topic_factory = fixtures.kafka_topic_factory_fixture()
kafka_producer_factory = fixtures.kafka_producer_factory_fixture()
kafka_consumer_factory = fixtures.kafka_consumer_factory_fixture()
redis_server = fixtures.redis_server_fixture()
redis_client = fixtures.redis_client_fixture()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(kafka_broker: KafkaBroker) -> str:
    """``host:port`` of the session's broker."""
    return kafka_broker.bootstrap_servers


@pytest.fixture
def kafka_topic(kafka_topic_factory: Callable[..., str]) -> str:
    """A fresh 3-partition topic, deleted after the test."""
    return kafka_topic_factory()


@pytest.fixture
def kafka_producer(kafka_producer_factory: Callable[..., Any]) -> Any:
    """A ``KafkaProducer`` (JSON values, UTF-8 keys, ``acks="all"``), flushed and closed after."""
    return kafka_producer_factory()


@pytest.fixture(autouse=True)
def _kafka_requires(request: pytest.FixtureRequest) -> Iterator[None]:
    """Honour ``@pytest.mark.kafka_requires(...)``: skip where the backend lacks a feature."""
    wanted = [name for mark in request.node.iter_markers("kafka_requires") for name in mark.args]
    if wanted:
        try:
            check_known(wanted)
        except ConfigError as exc:
            pytest.fail(f"@pytest.mark.kafka_requires: {exc}", pytrace=False)
        broker: KafkaBroker = request.getfixturevalue("kafka_broker")
        missing = sorted(set(wanted) - broker.capabilities)
        if missing:
            pytest.skip(
                f"the {broker.backend} Kafka backend ({broker.version}) lacks "
                + ", ".join(f"{name} ({CAPABILITIES[name]})" for name in missing)
            )
    yield
