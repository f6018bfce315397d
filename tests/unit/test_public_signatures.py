"""One shape for every assertion on events: what arrived first, then what was expected
(both positional or keyword), then options, keyword-only; and every public assertion and
reader of records names its record type (``RecordLike`` / ``EventLike``), never ``Any``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from pytest_kafka_patterns import assertions

#: assertion -> (what arrived, what was expected).
SHAPES: dict[Callable[..., Any], tuple[str, str]] = {
    assertions.assert_delivered: ("records", "expected"),
    assertions.assert_ordered_by_key: ("records", "expected"),
    assertions.assert_routed_to_dlq: ("dlq_records", "poison"),
    assertions.assert_exactly_once_effect: ("effects", "events"),
}


@pytest.mark.parametrize("assertion", list(SHAPES), ids=lambda fn: fn.__name__)
def test_arrived_then_expected_then_keyword_only_options(assertion: Callable[..., Any]) -> None:
    parameters = list(inspect.signature(assertion).parameters.values())
    positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == list(SHAPES[assertion])
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[2:])
    for parameter in parameters[:2]:
        assert "Any" not in str(parameter.annotation), parameter


def test_expected_positional_is_expected_by_keyword() -> None:
    class Rec:
        def __init__(self, offset: int, value: dict[str, str]) -> None:
            self.topic, self.partition, self.offset, self.key = "t", 0, offset, "k"
            self.value = value

    events = [{"event_id": "a"}, {"event_id": "b"}]
    records = [Rec(0, events[1]), Rec(1, events[0])]
    for call in (lambda: assertions.assert_ordered_by_key(records, events),
                 lambda: assertions.assert_ordered_by_key(records, expected=events)):
        with pytest.raises(AssertionError, match="out of order"):
            call()
