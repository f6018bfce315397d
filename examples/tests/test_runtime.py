"""The loop helpers every service shares, against the real broker."""

from __future__ import annotations

from examples.order_system.runtime import poll_records, rewind_unhandled


def poll_until(consumer, count):
    polled = {}
    for _ in range(50):
        for tp, records in poll_records(consumer, 0.2).items():
            polled.setdefault(tp, []).extend(records)
        if sum(map(len, polled.values())) >= count:
            return polled
    raise AssertionError(f"polled {sum(map(len, polled.values()))} of {count} record(s)")


def test_rewind_after_a_failed_commit_hands_the_rest_of_the_batch_out_again(
    kafka_topic_factory, kafka_producer, kafka_consumer_factory
):
    """What a service does when a commit fails mid-batch: the records after the failed
    commit, and every partition it had not reached, come back on the next poll."""
    topic = kafka_topic_factory("rewind", partitions=3)
    for partition in range(3):
        for n in range(4):
            kafka_producer.send(topic, key=f"k{n}", value={"n": n}, partition=partition)
    kafka_producer.flush()
    consumer = kafka_consumer_factory(topic, enable_auto_commit=False)
    polled = poll_until(consumer, 12)
    order = list(polled)
    failed_at = order[1]  # the first partition done, the second failed after its record 1

    rewind_unhandled(consumer, polled, failed_at, polled[failed_at][1].offset + 1)

    again = poll_until(consumer, 2 + 4)
    assert order[0] not in again
    assert [r.offset for r in again[failed_at]] == [2, 3]
    assert [r.offset for r in again[order[2]]] == [0, 1, 2, 3]

