"""Backend choice: settings in, a running service out.

Each backend module exposes ``start_kafka(settings, workdir)`` and/or
``start_redis(settings, workdir)`` returning :class:`Running`; modules are imported only
when chosen, so an unused backend's dependencies (testcontainers, Java) never matter.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from pathlib import Path

from .._kafka_quiet import import_kafka
from ..config import KafkaSettings, RedisSettings
from .base import KafkaBroker, RedisServer, Running

__all__ = [
    "BackendFallback",
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


class BackendFallback(UserWarning):
    """``auto`` found a Docker engine but could not use it, and chose the local backend."""


def _docker_or(fallback: str, image: str, option: str) -> str:
    """``docker`` when an engine answers and can run ``image`` (present locally or
    pullable), else ``fallback``; when an engine answered, a one-line warning says why not."""
    from .docker import docker_available, image_problem

    if not docker_available():
        return fallback
    problem = image_problem(image)
    if problem is None:
        return "docker"
    warnings.warn(
        BackendFallback(f"{option}=auto: a Docker engine answers, but {problem}; using "
                        f"{fallback}. Pass {option}=docker to make that an error."),
        stacklevel=3,
    )
    return fallback


def choose_kafka_backend(settings: KafkaSettings) -> str:
    """Resolve ``auto``: an address means external; a Docker engine that can run the
    image (present locally or pullable) means docker; else embedded."""
    if settings.backend != "auto":
        return settings.backend
    if settings.bootstrap_servers:
        return "external"
    return _docker_or("embedded", settings.image, "--kafka-backend")


def choose_redis_backend(settings: RedisSettings) -> str:
    """Resolve ``auto`` the same way as for Kafka, with ``process`` as the fallback."""
    if settings.backend != "auto":
        return settings.backend
    if settings.url:
        return "external"
    return _docker_or("process", settings.image, "--redis-backend")


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
