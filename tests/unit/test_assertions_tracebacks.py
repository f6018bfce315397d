"""Issue 10 (6): a failing helper shows the user's line and our message, not our frames."""

from __future__ import annotations

import pytest

import pytest_kafka_patterns
from pytest_kafka_patterns import reading
from pytest_kafka_patterns.contracts import check_messages

#: Every public assertion and reading helper.
PUBLIC = [
    pytest_kafka_patterns.assert_delivered,
    pytest_kafka_patterns.assert_exactly_once_effect,
    pytest_kafka_patterns.assert_group_caught_up,
    pytest_kafka_patterns.assert_ordered_by_key,
    pytest_kafka_patterns.assert_routed_to_dlq,
    pytest_kafka_patterns.eventually,
    pytest_kafka_patterns.read_topic,
    pytest_kafka_patterns.expect_no_more,
    pytest_kafka_patterns.committed_offsets,
    pytest_kafka_patterns.high_watermarks,
    pytest_kafka_patterns.group_progress,
    check_messages,
    reading._progress,
]


@pytest.mark.parametrize("helper", PUBLIC, ids=lambda helper: helper.__name__)
def test_every_public_helper_hides_its_frame(helper: object) -> None:
    assert "__tracebackhide__" in helper.__code__.co_varnames  # type: ignore[attr-defined]


USER_TESTS = '''
from pytest_kafka_patterns import (
    Record, assert_delivered, assert_exactly_once_effect, assert_ordered_by_key,
    assert_routed_to_dlq, eventually,
)

def rec(offset, value, key="k"):
    return Record("orders", 0, offset, key, value)

def test_delivered():
    assert_delivered([rec(0, {"event_id": "a"})], ["a", "lost-id"])  # USER LINE delivered

def test_ordered():
    records = [rec(0, {"s": 2}), rec(1, {"s": 1})]
    assert_ordered_by_key(records, seq_of=lambda v: v["s"])  # USER LINE ordered

def test_key_of_raises():
    assert_ordered_by_key([rec(0, {"s": 1})], key_of=lambda r: 1 / 0)  # USER LINE key_of

def test_dlq():
    assert_routed_to_dlq([], ["poison-id"])  # USER LINE dlq

def test_effects():
    assert_exactly_once_effect([b"a", b"a"], ["a"])  # USER LINE effects

def test_eventually():
    def check():
        assert_delivered([], ["never-id"])
    eventually(check, timeout=0.1)  # USER LINE eventually

def test_expect_no_more(kafka_expect_no_more):
    kafka_expect_no_more("no-such-topic-anywhere", within=0.1)  # USER LINE expect_no_more
'''


def test_failure_output_is_the_users_line_and_our_message(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(failed=7)
    output = result.stdout.str()
    for name in ("delivered", "ordered", "key_of", "dlq", "effects", "eventually",
                 "expect_no_more"):
        assert f"# USER LINE {name}" in output
    for message in ("E       AssertionError: assert_delivered: 1 of 2 expected event(s) missing",
                    "E       AssertionError: assert_ordered_by_key: 1 key(s) out of order",
                    "E       AssertionError: key_of=<lambda> raised ZeroDivisionError: "
                    "division by zero on orders[0]@0",
                    "E       AssertionError: assert_routed_to_dlq: 1 poison event(s) not in "
                    "the DLQ",
                    "E       AssertionError: assert_exactly_once_effect: 1 with more than one",
                    "E       AssertionError: eventually(check): still failing after",
                    "E       pytest_kafka_patterns.errors.TopicNotFound: expect_no_more: topic "
                    "'no-such-topic-anywhere' does not exist"):
        assert message in output
    ours = [line for line in output.splitlines()
            if "pytest_kafka_patterns/" in line and ".py:" in line]  # a frame of ours
    assert not ours, "\n".join(ours)
    assert "raise AssertionError(" not in output
    assert "__tracebackhide__" not in output
