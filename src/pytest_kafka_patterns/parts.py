"""The plugin's parts: one pytest11 entry point (``kafka_patterns``) registers the others.

Each part is registered under its own name, so ``-p no:kafka_patterns_events`` (or
``_faults``, ``_contracts``, ``_aio``, ``_confluent_aio``) disables that part alone, and
``-p no:kafka_patterns`` disables the whole plugin: with the entry point blocked, no part
is registered. A part that finds itself loaded without the core (``-p no:kafka_patterns
-p pytest_kafka_patterns.events_plugin``) refuses to run with a usage error.

The parts are registered from the core's ``pytest_addhooks``, the first hook pytest calls
on a plugin it registers, while it loads the entry points and before it parses the
command line, so a part's hooks and markers exist for every phase (pytest-xdist
registers its parts from ``pytest_configure``). Every option, the contracts' included,
is in the core's one table (:mod:`.config`). The aio and confluent_aio parts are
registered from ``pytest_configure``, once pytest-asyncio's presence is known.
"""

from __future__ import annotations

from importlib import import_module

import pytest

CORE = "kafka_patterns"

#: The ``--help`` group every part adds its options to (the first caller names it).
OPTION_GROUP = ("kafka-patterns", "real, ephemeral Kafka and Redis (pytest-kafka-patterns)")

#: Parts registered while the core registers (before the command line is parsed, since
#: some add options), by name -> module.
PARTS = {
    "kafka_patterns_events": "pytest_kafka_patterns.events_plugin",
    "kafka_patterns_faults": "pytest_kafka_patterns.faults_plugin",
    "kafka_patterns_contracts": "pytest_kafka_patterns.contracts_plugin",
}

#: Registered from the core's ``pytest_configure`` when pytest-asyncio and aiokafka are
#: installed.
AIO = "kafka_patterns_aio"

#: The confluent-kafka async fixtures (:mod:`.confluent_aio`): registered from the core's
#: ``pytest_configure`` when pytest-asyncio is active, whether confluent-kafka is
#: installed or not (their set-up says what is missing).
CONFLUENT_AIO = "kafka_patterns_confluent_aio"


def register_parts(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register every part not blocked with ``-p no:NAME`` and not registered already."""
    for name, module_name in PARTS.items():
        if pluginmanager.is_blocked(name) or pluginmanager.has_plugin(name):
            continue
        module = import_module(module_name)
        if not pluginmanager.is_registered(module):
            pluginmanager.register(module, name)


def require_core(config: pytest.Config, part: str) -> None:
    """Refuse to run a part without the core (its settings are resolved there)."""
    from .fixtures import SETTINGS_KEY

    if SETTINGS_KEY not in config.stash:
        raise pytest.UsageError(
            f"pytest-kafka-patterns: the {part} part needs the plugin's core, which is "
            f"disabled (-p no:{CORE}). Remove -p no:{CORE} to use it, or leave out the "
            f"-p option that loads {part}."
        )
