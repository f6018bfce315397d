"""Consumer groups: has a group committed everything on a topic?"""

from __future__ import annotations

from .. import reading
from . import formatting


def assert_group_caught_up(
    bootstrap_servers: str, group_id: str, topic: str, *, timeout: float = 10.0
) -> None:
    """The group has committed every readable record on every partition of ``topic``.

    Committed offsets come from OffsetFetch (admin), ends from Fetch high watermarks (not
    ListOffsets). Between the two, only records a ``read_committed`` consumer reads count:
    transaction markers (the COMMIT/ABORT record ending each transaction) and aborted
    records occupy offsets, so a group past the last record of a committed transaction
    stands one offset short of the high watermark, and is caught up. Fails on partitions
    behind (showing the first uncommitted record, and how many of the offsets behind are
    markers) and on offsets committed past the end, and with
    :class:`~pytest_kafka_patterns.errors.TopicNotFound` when the topic does not exist.
    """
    __tracebackhide__ = True
    progress = reading.group_progress(bootstrap_servers, group_id, topic, timeout=timeout)
    behind = [p for p in progress if p.lag > 0]
    ahead = [p for p in progress if p.lag < 0]
    if not (behind or ahead):
        return

    def not_records(p: reading.PartitionProgress) -> str:
        parts = []
        if p.markers:
            parts.append(f"{p.markers} transaction marker(s)")
        if p.hidden:
            parts.append(f"{p.hidden} aborted or uncommitted-transaction record(s)")
        if not parts:
            return ""
        return f"; of the {p.offsets_behind} offset(s) behind, {' and '.join(parts)}"

    def line(p: reading.PartitionProgress) -> str:
        committed = "nothing committed" if p.committed is None else f"committed {p.committed}"
        text = f"p{p.partition}: {committed}, high watermark {p.high_watermark}"
        if p.lag > 0:
            text += f" ({p.lag} uncommitted record(s)" + not_records(p) + ")"
            if p.pending is not None:
                text += f"\nfirst uncommitted: {formatting.describe_record(p.pending)}"
        return text

    caught = [p for p in progress if p.lag == 0]
    problems = []
    if behind:
        problems.append(f"behind by {sum(p.lag for p in behind)} record(s)")
    if ahead:
        problems.append(f"committed past the end on {len(ahead)} partition(s)")
    notes = []
    if caught:
        notes.append("caught up: " + ", ".join(
            f"p{p.partition}" + (f" ({not_records(p)[2:]})" if p.offsets_behind > 0 else "")
            for p in caught
        ))
    if all(p.committed is None for p in progress):
        notes.append(f"group {group_id!r} has committed nothing on {topic!r}")
    raise AssertionError(
        formatting.failure(
            f"assert_group_caught_up: group {group_id!r} on {topic!r} " + ", ".join(problems),
            ("behind", [line(p) for p in behind]),
            ("committed past the end", [line(p) for p in ahead]),
            notes=notes,
        )
    )
