"""Consumer groups: has a group committed everything on a topic?"""

from __future__ import annotations

from .. import reading
from . import formatting


def assert_group_caught_up(
    bootstrap_servers: str, group_id: str, topic: str, *, timeout: float = 10.0
) -> None:
    """The group's committed offset equals the high watermark on every partition of ``topic``.

    Committed offsets come from OffsetFetch (admin), ends from Fetch high watermarks (not
    ListOffsets). Fails on partitions behind (showing the first uncommitted record) and
    on offsets committed past the end.
    """
    __tracebackhide__ = True
    progress = reading.group_progress(bootstrap_servers, group_id, topic, timeout=timeout)
    behind = [p for p in progress if p.lag > 0]
    ahead = [p for p in progress if p.lag < 0]
    if not (behind or ahead):
        return

    def line(p: reading.PartitionProgress) -> str:
        committed = "nothing committed" if p.committed is None else f"committed {p.committed}"
        text = f"p{p.partition}: {committed}, high watermark {p.high_watermark}"
        if p.lag > 0:
            text += f" ({p.lag} uncommitted)"
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
        notes.append("caught up: " + ", ".join(f"p{p.partition}" for p in caught))
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
