"""A contract consumer (run as a command) that exits when a rebalance takes partitions
from it: the ``rebalance`` scenario must fail it unless the contract says supervised."""

from __future__ import annotations

import json
import os

from kafka import ConsumerRebalanceListener, KafkaConsumer

from pytest_kafka_patterns.contracts import RunnerConfig


class ExitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def on_partitions_revoked(self, revoked: object) -> None:
        if revoked:  # the first join revokes nothing
            print(f"partitions revoked: {revoked}; exiting", flush=True)
            os._exit(3)

    def on_partitions_assigned(self, assigned: object) -> None:
        pass


def main() -> None:
    config = RunnerConfig.from_env(os.environ)
    consumer = KafkaConsumer(bootstrap_servers=config.bootstrap_servers,
                             group_id=config.group_id, auto_offset_reset="earliest",
                             enable_auto_commit=False, **config.consumer_overrides)
    consumer.subscribe([config.topic], listener=ExitOnRevoke())
    while True:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                config.record_effect(json.loads(record.value))
        consumer.commit()


if __name__ == "__main__":
    main()
