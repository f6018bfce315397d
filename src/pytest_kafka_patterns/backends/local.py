"""A user-provided Apache Kafka distribution, started as one KRaft node in a temp dir.

Point ``KAFKA_HOME`` / ``--kafka-home`` at an unpacked ``kafka_2.13-<version>`` and we
generate a single combined broker+controller configuration, format its storage, and run
``bin/kafka-server-start.sh`` under supervision. Everything it writes (data, logs, the
config itself) lives under the run's work dir; the distribution is only read. The node
itself (config, storage format, supervision) is :mod:`.kraft`, shared with ``apache``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..capabilities import APACHE_KAFKA
from ..config import KafkaSettings
from ..errors import BackendUnavailable, ConfigError
from .base import KafkaBroker, Running
from .kraft import (
    JAVA_HINT,
    KAFKA_CONSUMER_DEFAULTS,
    Launch,
    broker_info,
    cluster_id,
    find_java,
    java_major,
    server_properties,
    start_node,
)

__all__ = [
    "APACHE_KAFKA",
    "KAFKA_CONSUMER_DEFAULTS",
    "Distribution",
    "check_distribution",
    "cluster_id",
    "find_java",
    "java_major",
    "kafka_version",
    "server_properties",
    "start_kafka",
]

NAME = "local"
DEFAULT_TIMEOUT = 60.0
SERVER_SCRIPT = "bin/kafka-server-start.sh"
STORAGE_SCRIPT = "bin/kafka-storage.sh"
DEFAULT_HEAP_OPTS = "-Xmx512m -Xms256m"
HOME_HINT = (
    "Point KAFKA_HOME / --kafka-home at an unpacked Apache Kafka distribution "
    "(https://kafka.apache.org/downloads), use --kafka-backend=apache (stock Kafka "
    "fetched through Maven), or choose another --kafka-backend."
)

_KAFKA_JAR = re.compile(r"^kafka_\d+\.\d+-(\d+\.\d+\.\d+[^/]*?)\.jar$")
_NOT_MAIN_JAR = ("-sources", "-test", "-javadoc", "-scaladoc", "-site-docs")


@dataclass(frozen=True)
class Distribution:
    """A checked Kafka distribution and the Java that will run it."""

    home: Path
    java: str
    java_home: Path | None
    version: str


def kafka_version(home: Path) -> str:
    """The distribution's version, read from the ``libs/kafka_<scala>-<version>.jar`` name."""
    try:
        names = sorted(entry.name for entry in (home / "libs").iterdir())
    except OSError:
        return "unknown"
    for name in names:
        match = _KAFKA_JAR.match(name)
        if match and not any(part in name for part in _NOT_MAIN_JAR):
            return match.group(1)
    return "unknown"


def check_distribution(
    settings: KafkaSettings, environ: Mapping[str, str] | None = None
) -> Distribution:
    """Validate KAFKA_HOME and Java without starting anything; fail fast with the fix."""
    home = settings.kafka_home
    if home is None:
        raise ConfigError(
            "--kafka-backend=local needs a Kafka distribution: set KAFKA_HOME or pass "
            "--kafka-home (an unpacked https://kafka.apache.org/downloads archive)."
        )
    # Absolute: the scripts run in the broker's work dir, not where pytest was started.
    home = home.expanduser().absolute()
    if not home.is_dir():
        raise ConfigError(
            f"KAFKA_HOME / --kafka-home={str(home)!r} is not a directory. {HOME_HINT}"
        )
    for script in (SERVER_SCRIPT, STORAGE_SCRIPT):
        if not (home / script).is_file():
            raise ConfigError(
                f"KAFKA_HOME / --kafka-home={str(home)!r} has no {script}; is it the top "
                f"directory of an Apache Kafka (KRaft-capable, 3.3+) distribution? {HOME_HINT}"
            )
        if not os.access(home / script, os.X_OK):
            raise ConfigError(
                f"{home / script} is not executable; run `chmod +x {home}/bin/*.sh`."
            )
    java, java_home = find_java(environ)
    version = kafka_version(home)
    major = java_major(java_home)
    needed = 17 if version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 4 else 11
    if major is not None and major < needed:
        raise BackendUnavailable(
            f"Kafka {version} needs Java {needed}+, but {java} is Java {major}. {JAVA_HINT}"
        )
    return Distribution(home=home, java=java, java_home=java_home, version=version)


def _launch(dist: Distribution) -> Launch:
    env: dict[str, str] = {}
    if dist.java_home is not None:
        env["JAVA_HOME"] = str(dist.java_home)
    if not os.environ.get("KAFKA_HEAP_OPTS"):
        env["KAFKA_HEAP_OPTS"] = DEFAULT_HEAP_OPTS
    return Launch(
        server=[str(dist.home / SERVER_SCRIPT)],
        storage=[str(dist.home / STORAGE_SCRIPT)],
        env=env,
        install_hint=HOME_HINT,
    )


def start_kafka(settings: KafkaSettings, workdir: Path) -> Running[KafkaBroker]:
    """Start the distribution in KRaft mode on free loopback ports, storage under ``workdir``."""
    dist = check_distribution(settings)
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT
    process, elapsed, port = start_node(_launch(dist), workdir, timeout)
    return Running(broker_info(port, NAME, dist.version, elapsed), process.stop, process)
