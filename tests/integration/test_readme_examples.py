"""The README's code examples run as written (issue 10, 12).

Every ``python`` block of README.md whose first line names a file (``# test_orders.py``,
``# conftest.py``) is written to that file in a fresh directory, and the directory is run
with pytest, as a user who copied them would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_kafka_patterns.capabilities import kafka_python_major

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(
    r"^```python\n# (?P<name>(?:test_\w+|conftest)\.py)\b[^\n]*\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)


def readme_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for match in BLOCK.finditer(README.read_text()):
        files[match["name"]] = files.get(match["name"], "") + match["body"]
    return files


def test_the_readme_has_runnable_examples() -> None:
    assert {"test_orders.py", "conftest.py", "test_legacy.py", "test_async_orders.py",
            "test_faults.py", "test_confluent_orders.py", "test_avro_orders.py",
            "test_avro_contract.py", "test_confluent_async_orders.py"} <= set(
                readme_files())


def test_readme_examples_pass(pytester: pytest.Pytester, local_backends) -> None:
    pytest.importorskip("aiokafka")
    pytest.importorskip("pytest_asyncio")
    pytest.importorskip("confluent_kafka")
    pytest.importorskip("confluent_kafka.aio")
    pytest.importorskip("confluent_kafka.schema_registry.avro")
    for name, body in readme_files().items():
        pytester.path.joinpath(name).write_text(body)
    if kafka_python_major() >= 3:
        result = pytester.runpytest_inprocess(*local_backends)
        result.assert_outcomes(passed=11)
    else:
        # kafka-python 2's producer fails a send in flight when its connection is cut
        # (KafkaConnectionError), retries or not: the faults example holds from 3.0 on.
        result = pytester.runpytest_inprocess(*local_backends, "-k", "not survives_a_cut")
        result.assert_outcomes(passed=10, deselected=1)
    output = result.stdout.str()
    assert "CommitFailed" not in output and "commit" not in output.lower()
