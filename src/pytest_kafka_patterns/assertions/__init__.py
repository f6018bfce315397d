"""Assertions on what Kafka code really did: delivery, ordering, DLQ, effects, groups,
nothing more on a topic.

Each raises ``AssertionError`` with a message built by :mod:`.formatting`: what was
expected, what arrived, and where (``topic[partition]@offset``). They raise explicitly
rather than using ``assert``, so they work the same with or without assertion rewriting.
"""

from __future__ import annotations

from .delivery import assert_delivered
from .dlq import assert_routed_to_dlq
from .effects import assert_exactly_once_effect
from .groups import assert_group_caught_up
from .ids import event_id_of, id_at, norm_id, order_id_of
from .no_more import assert_no_more_records, expect_no_more
from .ordering import assert_ordered_by_key
from .waiting import eventually

__all__ = [
    "assert_delivered",
    "assert_exactly_once_effect",
    "assert_group_caught_up",
    "assert_no_more_records",
    "assert_ordered_by_key",
    "assert_routed_to_dlq",
    "event_id_of",
    "eventually",
    "expect_no_more",
    "id_at",
    "norm_id",
    "order_id_of",
]
