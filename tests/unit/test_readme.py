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


def section(title: str) -> str:
    """The README's text from the heading ``title`` to the next heading of its level."""
    level = title.split(" ", 1)[0]
    start = README.index(f"\n{title}\n")
    end = README.find(f"\n{level} ", start + len(title) + 2)
    return README[start:end if end != -1 else None]


def test_install_says_the_plugin_is_not_published_and_how_to_install_it() -> None:
    text = section("## Use it in your project")
    assert "not published on PyPI" in text
    assert "pip install /path/to/pytest-kafka-patterns" in text
    assert "pip wheel --no-deps -w dist /path/to/pytest-kafka-patterns" in text
    assert "\npip install pytest-kafka-patterns" not in README


def test_readme_says_where_it_runs() -> None:
    assert "on any machine" not in README
    text = section("### Where it runs")
    for platform in ("Linux x86_64", "macOS", "Windows"):
        assert platform in text


def test_first_example_builds_its_own_consumer_with_consumer_config() -> None:
    first = section("## Use it in your project").split("```python", 2)[1]
    assert "**kafka_broker.consumer_config()" in first


def test_faults_example_reads_from_the_proxied_broker() -> None:
    text = section("## Faults: a broker behind a TCP proxy, and rebalances")
    assert "kafka_read" not in text.split("```")[1].replace("kafka_read reads", "")
    assert "read_topic(proxied.bootstrap_servers" in text


def test_consumer_groups_paragraph_cites_tansu() -> None:
    text = section("### Consumer groups are fast")
    assert "session_timeout_ms.div(2)" in text and "administrator.rs" in text
    assert "consumer_config" in text


def test_async_example_shows_marker_and_loop_scope() -> None:
    text = section("### Async tests (aiokafka)")
    assert "@pytest.mark.asyncio" in text and "loop_scope" in text
