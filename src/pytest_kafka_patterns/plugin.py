"""pytest entry point: options, markers, the default fixtures and the run summary."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import warnings
from collections.abc import Iterator
from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import pytest

from . import _kafka_quiet, avro, confluent, fixtures, parts, runstate
from .backends import KafkaBroker
from .capabilities import CAPABILITIES, check_known
from .config import OPTIONS, Settings, resolve
from .errors import ConfigError, KafkaPatternsError

if TYPE_CHECKING:  # imported by the fixture: the plugin is loaded in every run
    from confluent_kafka import Producer
    from kafka import KafkaProducer

    from .backends.cluster import KafkaCluster
    from .fixture_types import ConfluentProducerFactory, ProducerFactory, TopicFactory

GROUP = parts.OPTION_GROUP[0]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register the plugin's parts (see :mod:`.parts`) before options are parsed."""
    parts.register_parts(pluginmanager)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(*parts.OPTION_GROUP)
    for option in OPTIONS:
        extra = f" [env {option.env}; ini {option.ini}"
        extra += f"; default {option.default}]" if option.default else "]"
        metavar = option.dest.upper() if option.choices is None else "|".join(option.choices)
        if option.kind is bool:  # a flag; the value "true" goes through the same conversion
            group.addoption(option.flag, dest=option.dest, default=None, action="store_const",
                            const="true", help=option.help + extra)
        elif option.kind is list:
            group.addoption(option.flag, dest=option.dest, default=None, action="append",
                            metavar="PATH", help=option.help + extra)
        else:
            group.addoption(option.flag, dest=option.dest, default=None,
                            help=option.help + extra, metavar=metavar)
        if option.kind is list:
            parser.addini(option.ini, option.help, type="linelist", default=[])
        else:
            parser.addini(option.ini, option.help, default=None)


#: kafka-python's ``read_text`` warnings (see :mod:`._kafka_quiet`, which hides them at
#: import), also filtered in tests in case a kafka-python version loads schemas lazily:
#: each filter names the message *and* the module, so no other warning is hidden.
QUIET_WARNINGS = tuple(
    f"ignore:{message}:DeprecationWarning:{module}"
    for message, module in _kafka_quiet.KAFKA_IMPORT_WARNINGS
)

#: pytest-asyncio warns from its ``pytest_configure`` (so before the report header) when
#: ``asyncio_default_fixture_loop_scope`` is unset. Our async fixtures name their loop
#: scope, so the default does not concern them; the warning is hidden while an async
#: part (aio, confluent_aio) is active and the option unset.
ASYNCIO_LOOP_SCOPE_UNSET = 'The configuration option "asyncio_default_fixture_loop_scope" is unset'


def _quiet_known_warnings(config: pytest.Config) -> None:
    for line in QUIET_WARNINGS:
        config.addinivalue_line("filterwarnings", line)
    if (_aio_wanted(config) or _confluent_aio_wanted(config)) and not config.getini(
        "asyncio_default_fixture_loop_scope"
    ):
        # Raised while pytest_configure runs, inside pytest's own warnings context for the
        # configure phase: a filter added now lasts until that context ends.
        warnings.filterwarnings(
            "ignore", message=re.escape(ASYNCIO_LOOP_SCOPE_UNSET),
            category=pytest.PytestDeprecationWarning, module=r"pytest_asyncio\.plugin",
        )


def _aio_wanted(config: pytest.Config) -> bool:
    """The aio part registers: pytest-asyncio active, aiokafka installed, not disabled."""
    return (
        config.pluginmanager.hasplugin("asyncio")
        and not config.pluginmanager.is_blocked(parts.AIO)
        and find_spec("aiokafka") is not None
    )


def _confluent_aio_wanted(config: pytest.Config) -> bool:
    """The confluent_aio part registers: pytest-asyncio active, not disabled (without
    confluent-kafka its fixtures fail set-up with the pip line, as the sync ones do)."""
    return config.pluginmanager.hasplugin("asyncio") and not config.pluginmanager.is_blocked(
        parts.CONFLUENT_AIO
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-asyncio's, whose warning we filter
def pytest_configure(config: pytest.Config) -> None:
    _quiet_known_warnings(config)
    try:
        settings = resolve(
            cli=lambda dest: config.getoption(dest),
            ini=lambda name: config.getini(name) or None,
        )
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-kafka-patterns: {exc}") from None
    config.stash[fixtures.SETTINGS_KEY] = settings
    contracts_part = "kafka_patterns_contracts"
    if settings.contracts and config.pluginmanager.is_blocked(contracts_part):
        source = settings.sources.get("kafka_contracts", "--kafka-contracts")
        raise pytest.UsageError(
            f"pytest-kafka-patterns: {source} needs the contracts part, which is disabled "
            f"(-p no:{contracts_part}); remove one of the two.")
    config.addinivalue_line(
        "markers",
        "kafka_requires(*capabilities): skip unless the Kafka backend can do all of them "
        f"({', '.join(CAPABILITIES)}).",
    )
    # Worker or not is decided by what xdist gives this process (config.workerinput),
    # never by inherited environment variables: a pytest nested in a worker is its own run.
    runstate.configure(config)
    config.pluginmanager.register(
        import_module(".sharing_plugin", __package__), "kafka_patterns_sharing"
    )
    # What killed runs left is reaped when this run first starts a service
    # (fixtures.reap_leftovers), not here: a run that uses no service pays nothing for it.
    if _aio_wanted(config):
        config.pluginmanager.register(import_module(".aio", __package__), parts.AIO)
    if _confluent_aio_wanted(config):
        config.pluginmanager.register(
            import_module(".confluent_aio", __package__), parts.CONFLUENT_AIO
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, the controller fetches the apache backend's jars before the workers
    start (it collects no tests, so it cannot tell whether any needs a broker)."""
    if session.config.pluginmanager.hasplugin("dsession"):
        _provision_apache(session)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist, fetch the apache backend's jars once collection shows a test that
    uses a Kafka fixture: a run that needs no broker fetches nothing."""
    if session.config.pluginmanager.hasplugin("dsession"):
        return
    names = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if any(name.startswith("kafka") or name.endswith("broker") for name in names):
        # kafka_cluster runs Apache Kafka whatever the backend.
        _provision_apache(session, any(name.startswith("kafka_cluster") for name in names))


def _provision_apache(session: pytest.Session, cluster: bool = False) -> None:
    """Fetch the apache backend's jars now, once, with progress on the terminal (tests are
    not running yet, so nothing captures it); a failure is left to the broker fixture.
    ``cluster``: a test uses ``kafka_cluster``, which needs them on any backend."""
    settings: Settings = session.config.stash[fixtures.SETTINGS_KEY]
    if (settings.kafka.backend not in ("apache", "cluster") and not cluster) \
            or fixtures.worker_id():
        return
    from .backends import apache

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    with contextlib.suppress(KafkaPatternsError):
        apache.provision_for(settings.kafka, reporter.write_line if reporter else None)


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


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """xdist worker, at its end: move every object to the permanent generation
    (``gc.freeze()``), so the interpreter's last cyclic collection at exit skips them.

    The controller ends all workers at once, so on 2 cores 6-8 workers collecting their
    heaps together added ~1 s to every run (measured on the examples suite,
    ``benchmarks/examples_suite.py``). Objects are still freed by reference counting;
    Python never promised finalizers for objects alive at exit (reference manual,
    ``object.__del__``). A plain run and the controller are left alone.
    """
    if hasattr(config, "workerinput"):
        gc.freeze()


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
kafka_cluster_module = fixtures.kafka_cluster_fixture()
redis_server = fixtures.redis_server_fixture()
redis_client = fixtures.redis_client_fixture()
# confluent-kafka ([confluent] extra): imported by the fixtures, skipped without it.
confluent_admin = confluent.confluent_admin_fixture()
confluent_producer_factory = confluent.confluent_producer_factory_fixture()
confluent_consumer_factory = confluent.confluent_consumer_factory_fixture()
# Avro + Schema Registry ([avro] extra): imported by the fixture, skipped without it.
schema_registry = avro.schema_registry_fixture()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(kafka_broker: KafkaBroker) -> str:
    """``host:port`` of the session's broker."""
    return kafka_broker.bootstrap_servers


@pytest.fixture
def kafka_cluster(kafka_cluster_module: KafkaCluster) -> KafkaCluster:
    """A 3-broker Apache Kafka cluster (one per test module and xdist worker), every
    broker running when the test starts (``restore()`` restarts what a test stopped)."""
    kafka_cluster_module.restore()
    return kafka_cluster_module


@pytest.fixture
def kafka_topic(kafka_topic_factory: TopicFactory) -> str:
    """A fresh 3-partition topic, deleted after the test."""
    return kafka_topic_factory()


@pytest.fixture
def kafka_producer(
    request: pytest.FixtureRequest, kafka_producer_factory: ProducerFactory
) -> KafkaProducer:
    """A ``KafkaProducer`` (JSON values, UTF-8 keys, ``acks="all"``), flushed and closed after.

    Made after the test's ``kafka_topic`` whatever the order of the test's arguments: a
    producer that fetched metadata less than 100 ms before a topic existed waits out the
    rest of those 100 ms at its first send to it (kafka-python 3.0.12 leaves its metadata
    retry backoff at 100 ms whatever ``retry_backoff_ms`` says; see
    ``docs/kafka-python-metadata-backoff.md``).
    """
    if "kafka_topic" in request.fixturenames:
        request.getfixturevalue("kafka_topic")
    return kafka_producer_factory()


@pytest.fixture
def confluent_producer(confluent_producer_factory: ConfluentProducerFactory) -> Producer:
    """A ``confluent_kafka.Producer`` (``acks=all``), flushed (at most 10 s) after the test."""
    return confluent_producer_factory()


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
