"""The README's fixture and option tables list everything the plugin registers (issue 10, 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[2] / "README.md").read_text()

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def table(title: str) -> str:
    start = README.index(f"\n{title}\n")
    return README[start:README.index("\n## ", start + 1)]


def test_every_fixture_is_in_the_fixture_table(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--fixtures")
    ours = sorted({
        match[1] for match in re.finditer(r"^(\w+)(?: \[\w+ scope\])? -- \S*pytest_kafka_patterns/",
                                          result.stdout.str(), re.MULTILINE)
    })
    assert "kafka_broker" in ours and "verify_contract" in ours
    fixtures = table("## Fixtures")
    missing = [name for name in ours if f"`{name}`" not in fixtures]
    assert missing == []


def test_every_option_is_in_the_options_table(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    flags = sorted(set(re.findall(r"^  (--(?:kafka|redis|tansu|schema-registry)[\w-]*)",
                                  result.stdout.str(), re.MULTILINE)))
    assert "--kafka-contracts" in flags and "--kafka-backend" in flags
    assert "--schema-registry-url" in flags
    options = table("## Options")
    missing = [flag for flag in flags if f"| `{flag}` |" not in options]
    assert missing == []


def test_every_durability_cell_names_a_cluster_test_that_exists() -> None:
    durability = table("### Durability: what each producer setting survives")
    rows = [line for line in durability.splitlines()
            if line.startswith("| `") and "shown by" not in line]
    assert len(rows) >= 5, durability
    tests = (Path(__file__).parents[1] / "integration" / "test_cluster.py").read_text()
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row.rsplit("|", 2)[-2])
        assert named, f"this row names no test: {row}"
        absent = [name for name in named if f"\ndef {name}(" not in tests]
        assert absent == [], f"{absent} (README durability table) not in test_cluster.py"
