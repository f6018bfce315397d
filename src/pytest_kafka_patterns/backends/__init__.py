"""Backend choice: settings in, a running service out.

Each backend module exposes ``start_kafka(settings, workdir)`` and/or
``start_redis(settings, workdir)`` returning :class:`Running`; modules are imported only
when chosen, so an unused backend's dependencies (testcontainers, Java) never matter.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from .._kafka_quiet import import_kafka
from ..config import KafkaSettings, RedisSettings
from .base import KafkaBroker, RedisServer, Running

__all__ = [
    "KafkaBroker",
    "RedisServer",
    "Running",
    "choose_kafka_backend",
    "choose_redis_backend",
    "start_kafka",
    "start_redis",
]

_KAFKA_MODULES = {
    "embedded": "embedded",
    "docker": "docker",
    "local": "local",
    "apache": "apache",
    "cluster": "cluster",
    "external": "external",
}
_REDIS_MODULES = {"process": "redis_process", "docker": "docker", "external": "external"}


def _docker_available() -> bool:
    from .docker import docker_available

    return docker_available()


def choose_kafka_backend(settings: KafkaSettings) -> str:
    """Resolve ``auto``: an address means external, a live Docker engine means docker."""
    if settings.backend != "auto":
        return settings.backend
    if settings.bootstrap_servers:
        return "external"
    return "docker" if _docker_available() else "embedded"


def choose_redis_backend(settings: RedisSettings) -> str:
    """Resolve ``auto`` the same way as for Kafka, with ``process`` as the fallback."""
    if settings.backend != "auto":
        return settings.backend
    if settings.url:
        return "external"
    return "docker" if _docker_available() else "process"


def start_kafka(settings: KafkaSettings, workdir: Path) -> Running[KafkaBroker]:
    """Start (or reach) the Kafka broker the settings ask for."""
    name = choose_kafka_backend(settings)
    import_kafka()  # probes and parity use kafka-python: import it first, quietly
    module = import_module(f".{_KAFKA_MODULES[name]}", __name__)
    running: Running[KafkaBroker] = module.start_kafka(settings, workdir)
    return running


def start_redis(settings: RedisSettings, workdir: Path) -> Running[RedisServer]:
    """Start (or reach) the Redis server the settings ask for."""
    name = choose_redis_backend(settings)
    module = import_module(f".{_REDIS_MODULES[name]}", __name__)
    running: Running[RedisServer] = module.start_redis(settings, workdir)
    return running
