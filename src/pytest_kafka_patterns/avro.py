"""Avro values in the Confluent wire format, through a Schema Registry (``[avro]`` extra).

The encoding is confluent-kafka's own (``confluent_kafka.schema_registry.avro``, with
fastavro underneath): magic byte ``0``, the schema id as a 4-byte big-endian integer,
then the Avro binary body (Confluent docs, "Wire format"). Nothing here encodes Avro
itself.

The ``schema_registry`` fixture hands out a :class:`SchemaRegistry`: a
``SchemaRegistryClient`` plus helpers that serialize values for a topic (registering the
schema under the subject ``<topic>-value``, confluent-kafka's default
``topic_subject_name_strategy``) and a ``value_deserializer`` for
:func:`~pytest_kafka_patterns.reading.read_topic`. Subjects the test registered through
it are deleted (soft, then permanently) after the test, as its topics are.

Where the registry comes from is chosen like the broker (``--schema-registry-backend``):

* ``mock``: confluent-kafka's in-process ``MockSchemaRegistryClient`` (a ``mock://``
  URL), a fresh one per test. Its schemas live in that one client object: another
  client, another process (a consumer started as a subprocess, a contract run) or
  another xdist worker cannot see them, so records it encoded can only be decoded by
  the same fixture. It checks no compatibility and serves no HTTP.
* ``external``: a real registry at ``--schema-registry-url`` (Confluent Schema Registry,
  or a Confluent-API-compatible one such as Apicurio Registry's ``/apis/ccompat/v7``).
  It is asked for its subjects once per session; an unreachable URL fails the fixture
  with the URL and the option to fix.

Schema files (``.avsc``) for the guide's events ship in the package: see
:func:`event_schema` and :data:`SCHEMA_DIR`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .config import SchemaRegistrySettings
from .errors import ConfigError, KafkaPatternsError, ServiceUnreachable

if TYPE_CHECKING:  # imported by the fixtures: the plugin imports this module in every run
    from confluent_kafka.schema_registry import SchemaRegistryClient

#: What to install when ``confluent_kafka.schema_registry`` or fastavro does not import.
INSTALL_HINT = "pip install 'pytest-kafka-patterns[avro]'"

#: The ``.avsc`` files shipped with the package.
SCHEMA_DIR = Path(__file__).parent / "schemas"

#: Event type -> its schema file in :data:`SCHEMA_DIR`.
EVENT_SCHEMA_FILES = {
    "order.created": "order_created.avsc",
    "order.status_changed": "order_status_changed.avsc",
}

#: Seconds an HTTP request to an external registry may take (confluent-kafka's
#: ``timeout``); its retries are turned off so an unreachable registry fails at once.
REQUEST_TIMEOUT = 5.0

#: The Confluent wire format's magic byte (Confluent docs, "Wire format").
MAGIC_BYTE = 0


class InvalidSchemaFile(KafkaPatternsError, ValueError):
    """An ``.avsc`` file is not valid JSON or not a valid Avro schema."""


class AvroDecodeError(KafkaPatternsError, ValueError):
    """A value could not be decoded: not in the wire format, unknown schema id, or the
    registry did not answer. :func:`~pytest_kafka_patterns.reading.read_topic` reports it
    as an ``AssertionError`` naming the record."""


class SchemaRegistryUnreachable(ServiceUnreachable):
    """The registry at the configured URL did not answer."""


def require_avro(request: pytest.FixtureRequest) -> None:
    """Fail the calling fixture's set-up with :data:`INSTALL_HINT` unless confluent-kafka's
    schema_registry module's dependencies and fastavro are installed (see :mod:`.extras`)."""
    from .fixtures import require_extra

    require_extra(request, "avro")


def load_schema(path: str | Path) -> str:
    """The Avro schema in the ``.avsc`` file ``path``, as a JSON string a registry takes.

    Parsed with ``fastavro.parse_schema`` first (Avro 1.11 specification), so a bad file
    fails here, not at the first produce. Raises :class:`InvalidSchemaFile` naming the file
    (and the line, for bad JSON) when it is not JSON or not a valid schema;
    ``FileNotFoundError`` when there is no such file.
    """
    import fastavro
    from fastavro.schema import SchemaParseException, UnknownType

    source = Path(path)
    text = source.read_text(encoding="utf-8")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSchemaFile(
            f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "an .avsc file holds one Avro schema as JSON"
        ) from None
    try:
        fastavro.parse_schema(parsed)
    except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError,
            AttributeError) as exc:
        raise InvalidSchemaFile(
            f"{source}: not a valid Avro schema: {type(exc).__name__}: {exc} "
            "(see the Avro specification, 'Schema Declaration')"
        ) from None
    return json.dumps(parsed)


def event_schema(event_type: str) -> str:
    """The shipped Avro schema of ``event_type`` (``order.created``,
    ``order.status_changed``: shapes of :mod:`pytest_kafka_patterns.factories`), as a JSON
    string. ``KeyError`` for another event type, naming the known ones."""
    try:
        name = EVENT_SCHEMA_FILES[event_type]
    except KeyError:
        raise KeyError(
            f"no Avro schema shipped for {event_type!r}; known: "
            f"{', '.join(sorted(EVENT_SCHEMA_FILES))}"
        ) from None
    return load_schema(SCHEMA_DIR / name)


def value_subject(topic: str) -> str:
    """The subject a value of ``topic`` is registered under: ``<topic>-value``
    (confluent-kafka's default ``topic_subject_name_strategy``)."""
    return f"{topic}-value"


def _wire_problem(data: bytes) -> str | None:
    """Why ``data`` is not in the Confluent wire format, or ``None`` when its framing is."""
    if len(data) <= 5:
        return (f"{len(data)} byte(s), but the Confluent wire format needs more than 5 "
                "(magic byte 0 + 4-byte schema id + Avro body)")
    if data[0] != MAGIC_BYTE:
        return (f"first byte {data[0]:#04x}, not the wire format's magic byte 0x00 "
                f"(starts {data[:16]!r}: produced without a Schema Registry serializer?)")
    return None


@dataclass
class SchemaRegistry:
    """A Schema Registry client for one test, and helpers to encode and decode values.

    ``url`` is the registry's address (``mock://...`` for the in-process mock),
    ``backend`` ``mock`` or ``external``, ``client`` the
    ``confluent_kafka.schema_registry.SchemaRegistryClient`` (use it for anything the
    helpers do not cover).
    """

    url: str
    backend: str
    client: SchemaRegistryClient
    _subjects: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def subjects(self) -> list[str]:
        """Subjects registered through this object (deleted after the test), sorted."""
        with self._lock:
            return sorted(self._subjects)

    def _note(self, subject: str) -> None:
        with self._lock:
            self._subjects.add(subject)

    def register(self, subject: str, schema: str) -> int:
        """Register the Avro ``schema`` (JSON string) under ``subject``; its schema id.
        ``confluent_kafka.schema_registry.error.SchemaRegistryError`` when the registry
        rejects it (e.g. incompatible with the subject's latest version)."""
        from confluent_kafka.schema_registry import Schema

        self._note(subject)
        return self.client.register_schema(subject, Schema(schema, "AVRO"))

    def serializer(self, schema: str) -> Callable[[Any, str], bytes]:
        """``encode(value, topic) -> bytes``: ``value`` (a dict matching the Avro
        ``schema``, a JSON string) in the wire format, through confluent-kafka's
        ``AvroSerializer``. The schema is registered under ``<topic>-value`` on first
        use (and deleted after the test). When ``value`` does not match the schema,
        fastavro's ``ValueError`` names the field (``no value and no default for items``);
        a registry that refuses the schema raises confluent-kafka's
        ``SchemaRegistryError``."""
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        avro = AvroSerializer(self.client, schema, conf={"auto.register.schemas": True})

        def encode(value: Any, topic: str) -> bytes:
            self._note(value_subject(topic))
            data = avro(value, SerializationContext(topic, MessageField.VALUE))
            if not isinstance(data, bytes):  # only a None value serializes to None
                raise TypeError(f"cannot serialize {value!r} as an Avro value of {topic}")
            return data

        return encode

    def encode(self, topic: str, value: Any, schema: str) -> bytes:
        """One value of ``topic`` in the wire format (see :meth:`serializer`).
        ``TypeError`` when ``topic`` or ``schema`` is not a string (arguments swapped with
        the serializer's ``encode(value, topic)``?)."""
        if not isinstance(topic, str) or not isinstance(schema, str):
            raise TypeError(
                "SchemaRegistry.encode(topic, value, schema) takes the topic name and the "
                f"schema as strings, got topic={type(topic).__name__}, "
                f"schema={type(schema).__name__} (the serializer's order is "
                "serializer(schema)(value, topic))")
        return self.serializer(schema)(value, topic)

    def deserializer(self) -> Callable[[bytes], Any]:
        """``decode(data) -> dict``: a wire-format value decoded with its writer schema
        (fetched from the registry by the id in the value). Pass it to ``read_topic(...,
        value_deserializer=...)``. Raises :class:`AvroDecodeError` saying which of these
        went wrong: not the wire format (too short, or a first byte other than 0), a
        schema id the registry does not know, a registry that did not answer, or a body
        that does not match its schema."""
        from confluent_kafka.schema_registry.avro import AvroDeserializer
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        avro = AvroDeserializer(self.client)
        url = self.url

        def decode(data: bytes) -> Any:
            problem = _wire_problem(data)
            if problem is not None:
                raise AvroDecodeError(f"not in the Confluent wire format: {problem}")
            schema_id = int.from_bytes(data[1:5], "big")
            try:
                value = avro(data)
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    raise AvroDecodeError(
                        f"schema id {schema_id} is unknown to the registry at {url} "
                        f"({exc.error_message}): written with another registry, or its "
                        "subject was deleted"
                    ) from None
                raise AvroDecodeError(
                    f"the registry at {url} refused schema id {schema_id}: {exc}"
                ) from None
            except Exception as exc:
                if _is_transport_error(exc):
                    raise AvroDecodeError(
                        f"the registry at {url} did not answer for schema id "
                        f"{schema_id}: {type(exc).__name__}: {exc}"
                    ) from None
                raise AvroDecodeError(
                    f"body does not match writer schema id {schema_id}: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            if value is None:  # the mock answers an unknown id with no schema
                raise AvroDecodeError(
                    f"schema id {schema_id} is unknown to the registry at {url}"
                )
            return value

        return decode

    def decode(self, data: bytes) -> Any:
        """One wire-format value decoded (see :meth:`deserializer`)."""
        return self.deserializer()(data)

    def delete_registered(self) -> list[str]:
        """Delete (soft, then permanently) every subject registered through this object;
        the subjects deleted. A subject already gone is skipped."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        deleted = []
        for subject in self.subjects:
            try:
                self.client.delete_subject(subject)
                self.client.delete_subject(subject, permanent=True)
            except SchemaRegistryError as exc:
                if exc.http_status_code != 404:
                    raise
                continue
            deleted.append(subject)
        with self._lock:
            self._subjects.clear()
        return deleted


def _is_transport_error(exc: BaseException) -> bool:
    """True for the HTTP client's connection and timeout errors (httpx / httpx2, which
    confluent-kafka uses depending on its version), without importing either."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    module = type(exc).__module__.split(".")[0]
    return module.startswith("httpx") and bool(names & {"TransportError", "TimeoutException"})


def new_client(url: str) -> SchemaRegistryClient:
    """A ``SchemaRegistryClient`` for ``url`` (``mock://`` gives the in-process mock):
    requests time out after :data:`REQUEST_TIMEOUT` s and are not retried."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient.new_client(
        {"url": url, "timeout": REQUEST_TIMEOUT, "max.retries": 0}
    )


def check_reachable(client: SchemaRegistryClient, url: str, source: str) -> None:
    """Ask the registry for its subjects; :class:`SchemaRegistryUnreachable` naming
    ``url`` and where it was configured (``source``) when it does not answer."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    try:
        client.get_subjects()
    except SchemaRegistryError as exc:
        raise SchemaRegistryUnreachable(
            f"the Schema Registry at {url} (from {source}) answered GET /subjects with "
            f"HTTP {exc.http_status_code}: {exc.error_message}. Is it a Confluent-API "
            "registry (Apicurio: use its /apis/ccompat/v7 path)?"
        ) from None
    except Exception as exc:
        raise SchemaRegistryUnreachable(
            f"the Schema Registry at {url} (from {source}) did not answer: "
            f"{type(exc).__name__}: {exc}. Start it, or fix --schema-registry-url / "
            "$PYTEST_SCHEMA_REGISTRY_URL, or use --schema-registry-backend=mock."
        ) from None


def registry_url(settings: SchemaRegistrySettings, sources: dict[str, str] | None = None
                 ) -> tuple[str, str]:
    """``(backend, url)`` the settings ask for; the mock gets ``mock://`` plus a name
    made unique per call by the fixture. :class:`ConfigError` for ``external`` without a
    URL, or a URL that is not http(s)."""
    backend = settings.chosen
    if backend == "mock":
        return backend, "mock://pytest-kafka-patterns"
    if not settings.url:
        raise ConfigError(
            "--schema-registry-backend=external needs --schema-registry-url (or "
            "$PYTEST_SCHEMA_REGISTRY_URL, ini schema_registry_url): the address of a "
            "Confluent-API Schema Registry."
        )
    if not settings.url.startswith(("http://", "https://")):
        raise ConfigError(
            f"schema_registry_url={settings.url!r} must start with http:// or https://"
        )
    return backend, settings.url


def schema_registry_fixture() -> Any:
    """The ``schema_registry`` fixture: a :class:`SchemaRegistry` per test, on the backend
    the run's settings choose; the subjects it registered are deleted after the test."""

    @pytest.fixture
    def schema_registry_factory_fixture(request: pytest.FixtureRequest) -> Iterator[SchemaRegistry]:
        require_avro(request)
        from . import topics
        from .fixtures import settings_of, worker_id

        settings = settings_of(request.config)
        backend, url = registry_url(settings.schema_registry)
        if backend == "mock":
            url = f"mock://{topics.unique_name('registry', request.node.name, worker_id())}"
        client = new_client(url)
        if backend == "external":
            checked = request.config.stash.setdefault(_CHECKED_KEY, set())
            if url not in checked:
                source = settings.sources.get("schema_registry_url", "settings")
                check_reachable(client, url, source)
                checked.add(url)
        registry = SchemaRegistry(url, backend, client)
        yield registry
        registry.delete_registered()

    return schema_registry_factory_fixture


_CHECKED_KEY = pytest.StashKey[set[str]]()
"""External registry URLs that answered once this session."""
