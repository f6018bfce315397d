"""Nothing more lands on a topic: the assertion that a consumer stopped producing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..reading import IsolationLevel, watch_for_records
from ..records import Record
from . import formatting


def assert_no_more_records(
    bootstrap_servers: str,
    topic: str,
    *,
    after: Sequence[Record] | Mapping[int, int] | None = None,
    within: float = 1.0,
    isolation_level: IsolationLevel = "read_committed",
) -> None:
    """Fail if a record lands on ``topic`` beyond ``after`` within ``within`` seconds.

    ``after`` is what the test already saw: the records
    :func:`~pytest_kafka_patterns.reading.read_topic` returned (partitions without any
    are taken as empty) or ``{partition: next offset}``. Without it, the baseline is each
    partition's high watermark right now. The check long-polls Fetch from the baseline,
    so it fails as soon as a record arrives and otherwise returns after ``within``
    seconds. As with ``read_topic``, records of aborted (or still open) transactions do
    not count unless ``isolation_level="read_uncommitted"``. A topic that does not exist
    fails with :class:`~pytest_kafka_patterns.errors.TopicNotFound` (an ``AssertionError``).

    Also available under its first name, ``expect_no_more`` (failure messages keep it).
    """
    __tracebackhide__ = True
    arrivals = watch_for_records(bootstrap_servers, topic, after=after, within=within,
                                 isolation_level=isolation_level, helper="expect_no_more")
    if arrivals.records:
        raise AssertionError(
            formatting.failure(
                f"expect_no_more: {len(arrivals.records)} new record(s) on {topic!r} within "
                f"{within:g} s after offsets {formatting.offsets(arrivals.baseline)}",
                ("arrived", [formatting.describe_record(record) for record in arrivals.records]),
            )
        )


#: The first name of :func:`assert_no_more_records`, kept for existing tests.
expect_no_more = assert_no_more_records
