"""The services a contract benchmark runs against: an embedded (Tansu) broker, a
redis-server process and a topic factory, with a :class:`HarnessEnv` per consumer setting.

Shared by ``contracts.py`` and ``contract_waits.py`` (run as scripts from the project
root, so this module is importable beside them).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

from pytest_kafka_patterns.backends.base import KafkaBroker
from pytest_kafka_patterns.backends.embedded import start_kafka
from pytest_kafka_patterns.backends.redis_process import start_redis
from pytest_kafka_patterns.config import KafkaSettings, RedisSettings
from pytest_kafka_patterns.contracts.harness import HarnessEnv
from pytest_kafka_patterns.topics import create_topic, unique_name


@dataclass
class ContractServices:
    broker: KafkaBroker
    redis_url: str
    workdir: Path
    admin: KafkaAdminClient

    def make_topic(self, prefix: str, partitions: int) -> str:
        name = unique_name(prefix)
        create_topic(self.admin, name, partitions)
        return name

    def env(self, consumer_defaults: Mapping[str, Any], scenarios_dir: str) -> HarnessEnv:
        """A harness environment whose consumers get ``consumer_defaults``; scenario
        work directories under ``workdir / scenarios_dir``."""
        return HarnessEnv(bootstrap_servers=self.broker.bootstrap_servers,
                          redis_url=self.redis_url, create_topic=self.make_topic,
                          workdir=self.workdir / scenarios_dir,
                          consumer_defaults=dict(consumer_defaults),
                          kafka_settings=KafkaSettings(backend="embedded"))


@contextlib.contextmanager
def contract_services(prefix: str) -> Iterator[ContractServices]:
    """Start the broker and Redis in a fresh temp dir named ``prefix...``; stop both (and
    close the admin client) when the block ends, however it ends."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    with contextlib.ExitStack() as stack:
        kafka = start_kafka(KafkaSettings(backend="embedded"), workdir / "kafka")
        stack.callback(kafka.stop)
        redis_server = start_redis(RedisSettings(backend="process"), workdir / "redis")
        stack.callback(redis_server.stop)
        admin = KafkaAdminClient(bootstrap_servers=kafka.info.bootstrap_servers)
        stack.callback(admin.close)
        yield ContractServices(kafka.info, redis_server.info.url, workdir, admin)
