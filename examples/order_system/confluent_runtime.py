"""What the confluent-kafka services share beyond :mod:`.runtime`: knowing when a
consumer has nothing left to read."""

from __future__ import annotations

from confluent_kafka import OFFSET_INVALID, Consumer


def caught_up(consumer: Consumer, timeout: float = 1.0) -> bool:
    """``consumer`` holds an assignment and, on every assigned partition, where it reads
    next is that partition's high watermark: nothing is left for it to read.

    Where it reads next is its position once it has consumed a message, else the group's
    committed offset (librdkafka's position stays ``OFFSET_INVALID`` until then). The high
    watermark is the one librdkafka cached from its last Fetch response
    (``get_watermark_offsets(cached=True)``), not ListOffsets "latest", which the embedded
    broker (Tansu 0.6) answers wrongly after a multi-record batch. ``False`` until the
    consumer has joined and fetched each partition once.
    """
    assigned = consumer.assignment()
    if not assigned:
        return False
    at = consumer.position(assigned)
    if any(tp.offset == OFFSET_INVALID for tp in at):  # asked of the coordinator only then
        committed = {(tp.topic, tp.partition): tp.offset
                     for tp in consumer.committed(assigned, timeout=timeout)}
        for tp in at:
            if tp.offset == OFFSET_INVALID:
                tp.offset = committed[(tp.topic, tp.partition)]
    for tp in at:
        _, high = consumer.get_watermark_offsets(tp, cached=True)
        if high < 0 or tp.offset < 0 or tp.offset < high:
            return False
    return True
