"""pytest hooks and fixtures for order-event factories, topic reading and assertions.

Seeding: ``--kafka-patterns-seed`` (an option of :mod:`pytest_kafka_patterns.config`,
so also ``$PYTEST_KAFKA_PATTERNS_SEED`` and ini ``kafka_patterns_seed``; else a random
seed) reseeds factory-boy and Faker when pytest
configures, and again before each test (each random when it is imported, if later: see
:mod:`.seeding`) with a seed derived from the run seed and the
test's node id, so one test reproduces on its own, in any order, under any xdist split.
The run seed is in the report header and, when tests fail, in the summary.

The assertion helpers raise ``AssertionError`` explicitly instead of using ``assert``,
so they need no assertion rewriting (no ``pytest.register_assert_rewrite``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from . import parts, seeding
from ._kafka_quiet import import_kafka
from .config import OPTIONS_BY_DEST
from .fixtures import require_extra, settings_of

if TYPE_CHECKING:  # imported by the fixtures that need them: kafka-python is not cheap
    from .fixture_types import NoMoreCheck, TopicReader
    from .reading import IsolationLevel, Record

DEST = "kafka_patterns_seed"
OPTION = OPTIONS_BY_DEST[DEST].flag


@dataclass(frozen=True)
class Seed:
    """The run's seed and where it came from (``--kafka-patterns-seed``, ``$ENV``...)."""

    value: int
    source: str

    def for_test(self, nodeid: str) -> int:
        """The seed one test is reseeded with: stable for a given run seed and node id."""
        digest = hashlib.sha256(f"{self.value}:{nodeid}".encode()).digest()
        return int.from_bytes(digest[:8], "big")


SEED_KEY = pytest.StashKey[Seed]()


def reseed(seed: int) -> None:
    """Reseed factory-boy's random and Faker's shared random, each now if it is imported,
    else when it is (see :mod:`.seeding`: factory-boy and Faker are imported only by a run
    that builds events)."""
    seeding.reseed(seed)


@pytest.hookimpl(trylast=True)  # after plugin.py has resolved the settings
def pytest_configure(config: pytest.Config) -> None:
    parts.require_core(config, "kafka_patterns_events")
    workerinput = getattr(config, "workerinput", None)
    settings = settings_of(config)
    if workerinput is not None and DEST in workerinput:
        seed = Seed(int(workerinput[DEST]), str(workerinput[DEST + "_source"]))
    elif settings.seed is not None:
        seed = Seed(settings.seed, settings.sources[DEST])
    else:
        seed = Seed(random.SystemRandom().randrange(2**32), "random")
    config.stash[SEED_KEY] = seed
    reseed(seed.value)


def pytest_unconfigure(config: pytest.Config) -> None:
    seeding.forget()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker uses the controller's seed (even a random one)."""
    seed = node.config.stash[SEED_KEY]
    node.workerinput[DEST] = seed.value
    node.workerinput[DEST + "_source"] = seed.source


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash[SEED_KEY]
    return (
        f"kafka-patterns: factory seed={seed.value} (from {seed.source}); "
        f"reproduce with {OPTION}={seed.value}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Reseed before the test's fixtures are set up, so fixture-built events reproduce."""
    reseed(item.config.stash[SEED_KEY].for_test(item.nodeid))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if terminalreporter.stats.get("failed") or terminalreporter.stats.get("error"):
        seed = config.stash[SEED_KEY]
        terminalreporter.write_line(
            f"kafka-patterns: factories were seeded with {seed.value} (from {seed.source}); "
            f"rerun with {OPTION}={seed.value} to get the same events"
        )


@pytest.fixture
def kafka_patterns_seed(request: pytest.FixtureRequest) -> int:
    """The seed factory-boy and Faker were given for this test."""
    seed: Seed = request.config.stash[SEED_KEY]
    return seed.for_test(request.node.nodeid)


@pytest.fixture
def kafka_read(kafka_bootstrap_servers: str, request: pytest.FixtureRequest) -> TopicReader:
    """``kafka_read(topic, *, min_records=0, timeout=10.0, isolation_level="read_committed")
    -> list[Record]`` on the session broker: every record of the topic, by partition then
    offset, as a ``read_committed`` consumer sees them (no aborted records) unless
    ``isolation_level="read_uncommitted"``. Reads with the client ``--kafka-read-client``
    names (``client=`` overrides it per call)."""
    import_kafka()  # first, quietly (see ._kafka_quiet)
    from .reading import read_topic

    return partial(read_topic, kafka_bootstrap_servers,
                   client=settings_of(request.config).read_client)


@pytest.fixture
def kafka_expect_no_more(kafka_bootstrap_servers: str) -> NoMoreCheck:
    """``kafka_expect_no_more(topic, *, after=None, within=1.0,
    isolation_level="read_committed")``: fail if a record lands on the topic (beyond
    ``after``) within ``within`` seconds (records of aborted transactions do not count)."""
    import_kafka()  # first, quietly (see ._kafka_quiet)
    from .assertions.no_more import expect_no_more

    def check(
        topic: str,
        *,
        after: Sequence[Record] | Mapping[int, int] | None = None,
        within: float = 1.0,
        isolation_level: IsolationLevel = "read_committed",
    ) -> None:
        __tracebackhide__ = True
        expect_no_more(kafka_bootstrap_servers, topic, after=after, within=within,
                       isolation_level=isolation_level)

    return check


def _from_factories(request: pytest.FixtureRequest, name: str) -> Any:
    """``factories.<name>``, or a one-line set-up failure naming the [events] extra."""
    require_extra(request, "events")
    from . import factories

    return getattr(factories, name)


@pytest.fixture
def order_event_factory(request: pytest.FixtureRequest) -> Any:
    """:class:`~pytest_kafka_patterns.factories.OrderCreatedEventFactory` (``.build()``)."""
    return _from_factories(request, "OrderCreatedEventFactory")


@pytest.fixture
def order_status_event_factory(request: pytest.FixtureRequest) -> Any:
    """:class:`~pytest_kafka_patterns.factories.OrderStatusChangedEventFactory`."""
    return _from_factories(request, "OrderStatusChangedEventFactory")


@pytest.fixture
def inventory_event_factory(request: pytest.FixtureRequest) -> Any:
    """:class:`~pytest_kafka_patterns.factories.InventoryResultEventFactory`
    (``success=False`` gives ``inventory.failed``)."""
    return _from_factories(request, "InventoryResultEventFactory")


@pytest.fixture
def order_factory(request: pytest.FixtureRequest) -> Any:
    """:class:`~pytest_kafka_patterns.factories.OrderFactory` (order dicts, no envelope)."""
    return _from_factories(request, "OrderFactory")


@pytest.fixture
def order_item_factory(request: pytest.FixtureRequest) -> Any:
    """:class:`~pytest_kafka_patterns.factories.OrderItemFactory`."""
    return _from_factories(request, "OrderItemFactory")


@pytest.fixture
def order_history(request: pytest.FixtureRequest) -> Callable[..., list[dict[str, Any]]]:
    """:func:`~pytest_kafka_patterns.factories.order_history`: one order's events in order."""
    history: Callable[..., list[dict[str, Any]]] = _from_factories(request, "order_history")
    return history
