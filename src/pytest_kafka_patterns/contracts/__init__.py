"""Consumer contracts: what a consumer reads and guarantees, verified against a real broker.

* :mod:`.model`: load and validate a contract file (:func:`load_contract`);
* :mod:`.messages`: check records against the contract, field by field
  (:func:`check_messages`, :func:`violations`);
* :mod:`.sources`: where a contract's events come from (generated from its schemas, a
  factory, a file, the guide's order events), each checked before the run;
* :mod:`.report`: the JSON report per contract run (``--kafka-contracts-report``);
* :mod:`.harness` and :mod:`.runner`: run the consumer in a killable subprocess;
* :mod:`.scenarios`: fault scenarios and the guarantee checks (:func:`run_scenario`,
  :data:`SCENARIOS`, :func:`register_scenario`);
* :mod:`.pytest_items`: ``pytest --kafka-contracts PATH``, the ``kafka_contract`` marker
  and the ``verify_contract`` fixture.

The names below are imported on first use (PEP 562): every consumer the harness starts
runs ``python -m pytest_kafka_patterns.contracts``, which needs :mod:`.runner` only, and
importing :mod:`.messages` (jsonschema, the assertions, kafka-python) as well cost each
start about 0.25 s, paid again at every crash restart.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .messages import Violation, check_messages, violations
    from .model import Contract, ContractError, Dlq, Faults, load_contract, parse_contract
    from .runner import PoisonError, RunnerConfig

_EXPORTS = {
    "messages": ("Violation", "check_messages", "violations"),
    "model": ("Contract", "ContractError", "Dlq", "Faults", "load_contract", "parse_contract"),
    "runner": ("PoisonError", "RunnerConfig"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])


__all__ = [
    "Contract",
    "ContractError",
    "Dlq",
    "Faults",
    "PoisonError",
    "RunnerConfig",
    "Violation",
    "check_messages",
    "load_contract",
    "parse_contract",
    "violations",
]
