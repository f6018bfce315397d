"""Settings resolution: command line > environment > ini > default, and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_kafka_patterns.config import OPTIONS, resolve
from pytest_kafka_patterns.errors import ConfigError


def lookup(values: dict[str, str]):
    return lambda name: values.get(name)


def test_defaults_when_nothing_is_set() -> None:
    settings = resolve(lookup({}), lookup({}), environ={})
    assert settings.kafka.backend == "auto"
    assert settings.redis.backend == "auto"
    assert settings.kafka.bootstrap_servers is None
    assert settings.kafka.startup_timeout is None
    assert settings.sources == {}


@pytest.mark.parametrize(
    ("cli", "env", "ini", "expected", "source"),
    [
        ("docker", "local", "external", "docker", "--kafka-backend"),
        (None, "local", "external", "local", "$PYTEST_KAFKA_BACKEND"),
        (None, None, "external", "external", "ini kafka_backend"),
        (None, None, None, "auto", None),
    ],
)
def test_precedence(cli, env, ini, expected, source) -> None:
    settings = resolve(
        lookup({"kafka_backend": cli} if cli else {}),
        lookup({"kafka_backend": ini} if ini else {}),
        environ={"PYTEST_KAFKA_BACKEND": env} if env else {},
    )
    assert settings.kafka.backend == expected
    assert settings.sources.get("kafka_backend") == source


def test_an_explicit_value_that_looks_falsy_still_wins() -> None:
    settings = resolve(
        lookup({"kafka_bootstrap_servers": "0:9092"}),
        lookup({"kafka_bootstrap_servers": "ini:9092"}),
        environ={},
    )
    assert settings.kafka.bootstrap_servers == "0:9092"


def test_empty_environment_value_counts_as_unset() -> None:
    settings = resolve(lookup({}), lookup({"redis_url": "redis://ini:1"}),
                       environ={"PYTEST_REDIS_URL": ""})
    assert settings.redis.url == "redis://ini:1"


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"--kafka-backend='kafak'.*auto, embedded, docker"):
        resolve(lookup({"kafka_backend": "kafak"}), lookup({}), environ={})


def test_backend_names_are_case_insensitive() -> None:
    settings = resolve(lookup({}), lookup({}), environ={"PYTEST_REDIS_BACKEND": " Process "})
    assert settings.redis.backend == "process"


@pytest.mark.parametrize("bad", ["soon", "-1", "0"])
def test_bad_timeouts_are_rejected(bad: str) -> None:
    with pytest.raises(ConfigError, match="PYTEST_KAFKA_STARTUP_TIMEOUT"):
        resolve(lookup({}), lookup({}), environ={"PYTEST_KAFKA_STARTUP_TIMEOUT": bad})


@pytest.mark.parametrize("bad", ["inf", "Infinity", "-inf", "1e9", "nan", "3600.5"])
@pytest.mark.parametrize("env", ["PYTEST_KAFKA_STARTUP_TIMEOUT", "PYTEST_REDIS_STARTUP_TIMEOUT"])
def test_timeouts_are_bounded_to_a_finite_range(env: str, bad: str) -> None:
    """Issue 15 (2): ``inf`` and ``1e9`` were accepted and hung the run; ``nan`` too."""
    with pytest.raises(ConfigError, match=r"at most 3600"):
        resolve(lookup({}), lookup({}), environ={env: bad})


def test_every_timeout_option_has_a_finite_maximum() -> None:
    for option in OPTIONS:
        if option.kind is float:
            assert option.maximum is not None and option.maximum < float("inf"), option.dest


def test_the_largest_timeout_is_accepted() -> None:
    settings = resolve(lookup({"kafka_startup_timeout": "3600"}), lookup({}), environ={})
    assert settings.kafka.startup_timeout == 3600


def test_timeouts_and_paths_are_typed() -> None:
    settings = resolve(
        lookup({"kafka_home": "~/kafka"}), lookup({"redis_startup_timeout": "2.5"}), environ={}
    )
    assert settings.kafka.kafka_home == Path("~/kafka").expanduser()
    assert settings.redis.startup_timeout == 2.5


def test_every_option_has_a_distinct_flag_env_and_ini() -> None:
    for attribute in ("flag", "env", "ini"):
        values = [getattr(option, attribute) for option in OPTIONS]
        assert len(values) == len(set(values)), attribute


def test_contract_paths_come_from_the_flag_the_environment_or_ini() -> None:
    flag = resolve(lookup({"kafka_contracts": ["a", "b"]}), lookup({}),  # type: ignore[dict-item]
                   environ={"PYTEST_KAFKA_CONTRACTS": "x"})
    assert flag.contracts == ("a", "b")
    assert flag.sources["kafka_contracts"] == "--kafka-contracts"
    env = resolve(lookup({}), lookup({}),
                  environ={"PYTEST_KAFKA_CONTRACTS": "contracts:more/contracts"})
    assert env.contracts == ("contracts", "more/contracts")
    ini = resolve(lookup({}), lookup({"kafka_contracts": ["c d", "e"]}),  # type: ignore[dict-item]
                  environ={})
    assert ini.contracts == ("c", "d", "e")
    assert resolve(lookup({}), lookup({}), environ={}).contracts == ()


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("yes", True),
                                                ("0", False), ("off", False)])
def test_a_flag_option_reads_on_and_off_from_the_environment(raw: str, expected: bool) -> None:
    settings = resolve(lookup({}), lookup({}),
                       environ={"PYTEST_KAFKA_CONTRACTS_ONE_BY_ONE": raw})
    assert settings.contracts_one_by_one is expected


def test_a_flag_option_refuses_a_value_that_is_not_on_or_off() -> None:
    with pytest.raises(ConfigError, match=r"PYTEST_KAFKA_CONTRACTS_ONE_BY_ONE='maybe' is not "
                                          "on or off"):
        resolve(lookup({}), lookup({}), environ={"PYTEST_KAFKA_CONTRACTS_ONE_BY_ONE": "maybe"})
    assert resolve(lookup({}), lookup({}), environ={}).contracts_one_by_one is False
