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

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .messages import Violation, check_messages, violations
    from .model import Contract, ContractError, Dlq, Faults, load_contract, parse_contract
    from .runner import PoisonError, RunnerConfig

_EXPORTS = {
    "messages": ("Violation", "check_messages", "violations"),
    "model": ("Contract", "ContractError", "Dlq", "Faults", "load_contract", "parse_contract"),
    "runner": ("PoisonError", "RunnerConfig"),
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

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
