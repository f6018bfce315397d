"""The README documents every option the plugin registers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_kafka_patterns.config import OPTIONS

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.dest)
def test_option_is_in_the_readme_table(option) -> None:
    row = f"| `{option.flag}` | `{option.env}` | `{option.ini}` |"
    assert row in README


def test_readme_set_up_is_the_two_ci_commands() -> None:
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text()
    assert "./install.sh" in README and "./install.sh" in ci
    assert ".venv/bin/python -m pytest   # runs the whole test suite" in README
    assert "\n.venv/bin/python -m pytest\n" in ci
