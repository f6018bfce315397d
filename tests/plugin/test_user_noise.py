"""A user's run shows no warnings from our dependencies, and only those (issue 10, 10).

Run in a subprocess with no ini file, as in a user's project: kafka-python warns while it
is imported, which happens once per process.
"""

from __future__ import annotations

import pytest

USER_TESTS = """
import importlib.resources
import warnings

def test_nothing():
    pass

def test_users_own_deprecation_still_shows():
    warnings.warn("the user's own deprecation", DeprecationWarning)
"""


def test_no_kafka_python_read_text_warnings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2, warnings=1)
    assert "read_text is deprecated" not in output
    assert "open_text is deprecated" not in output
    assert "the user's own deprecation" in output


def test_no_pytest_asyncio_loop_scope_warning_before_the_header(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_asyncio")
    pytest.importorskip("aiokafka")
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert "asyncio_default_fixture_loop_scope\" is unset" not in output
    assert output.lstrip().startswith("=")  # the session header comes first


KAFKA_FIRST_NEEDED = """
def test_admin_first_imports_kafka(kafka_admin):
    pass

def test_package_name_first_imports_kafka():
    from pytest_kafka_patterns import read_topic
"""


@pytest.mark.parametrize("which", ["test_admin_first_imports_kafka",
                                   "test_package_name_first_imports_kafka"])
def test_no_read_text_warnings_where_kafka_is_first_imported(
    pytester: pytest.Pytester, local_backends: tuple[str, ...], which: str
) -> None:
    """kafka-python is no longer imported with the plugin (issue 14): where it is first
    imported, by a fixture or through the package, its import warnings stay hidden."""
    pytester.makepyfile(KAFKA_FIRST_NEEDED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *local_backends,
                                           "-k", which)
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)
    assert "read_text is deprecated" not in output
    assert "open_text is deprecated" not in output
