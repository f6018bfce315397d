"""A fixture or option whose extra is not installed fails at the point of use, in one
line naming the extra and its pip line (``extras.py``); the broker needs no extra.

"Not installed" is made real in the inner run's own interpreter: its conftest puts
``None`` in ``sys.modules`` for the extra's modules, which is what the import system
reports for a module that cannot be found (``find_spec`` -> None, import ->
``ModuleNotFoundError``). The plugin loads before that conftest, so this also shows
that nothing imported them at start-up.
"""

from __future__ import annotations

import pytest

from pytest_kafka_patterns import extras


def _uninstall(pytester: pytest.Pytester, extra: str) -> None:
    modules = [module for module, _ in extras.EXTRAS[extra]]
    pytester.makeconftest(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    )


@pytest.mark.parametrize(
    ("extra", "fixture"),
    [("redis", "redis_client"), ("redis", "redis_server"), ("events", "order_event_factory"),
     ("events", "order_history")],
)
def test_a_fixture_names_its_missing_extra(
    pytester: pytest.Pytester, extra: str, fixture: str
) -> None:
    _uninstall(pytester, extra)
    pytester.makepyfile(f"def test_x({fixture}):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:faker")
    result.assert_outcomes(errors=1)
    # the ERRORS section's line; the short summary repeats it after "ERROR ... - Failed: "
    # (whole when $CI is set, cut to the terminal's width otherwise)
    (line,) = [line for line in result.stdout.lines if line.startswith("the ")]
    assert line.startswith(f"the {fixture} fixture needs the [{extra}] extra (")
    assert line.endswith(f"not installed): pip install 'pytest-kafka-patterns[{extra}]'")
    assert "Traceback" not in result.stdout.str()


def test_kafka_contracts_without_its_extra_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _uninstall(pytester, "contracts")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--kafka-contracts", ".")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "--kafka-contracts needs the [contracts] extra (jsonschema, PyYAML, redis, "
        "hypothesis-jsonschema not installed): pip install 'pytest-kafka-patterns[contracts]'"
    ) in result.stderr.str()


def test_importing_the_factories_without_the_extra_names_it(pytester: pytest.Pytester) -> None:
    _uninstall(pytester, "events")
    pytester.makepyfile(
        "import pytest\n"
        "from pytest_kafka_patterns.extras import MissingExtra\n"
        "def test_x():\n"
        "    with pytest.raises(ImportError, match=r'\\[events\\] extra') as caught:\n"
        "        from pytest_kafka_patterns import OrderFactory\n"
        "    assert isinstance(caught.value, MissingExtra)\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:faker").assert_outcomes(
        passed=1
    )


def test_extras_installed_here_are_not_missing() -> None:
    missing = {name: extras.missing(name) for name in extras.EXTRAS}
    assert missing == {name: [] for name in extras.EXTRAS}, missing
    assert set(missing) >= {"events", "redis", "contracts", "confluent", "avro"}
