"""Consumer contracts: what a consumer reads and guarantees, verified against a real broker.

* :mod:`.model`: load and validate a contract file (:func:`load_contract`);
* :mod:`.messages`: check records against the contract, field by field
  (:func:`check_messages`, :func:`violations`);
* :mod:`.harness` and :mod:`.runner`: run the consumer in a killable subprocess;
* :mod:`.scenarios`: fault scenarios and the guarantee checks (:func:`run_scenario`,
  :data:`SCENARIOS`, :func:`register_scenario`);
* :mod:`.pytest_items`: ``pytest --kafka-contracts PATH``, the ``kafka_contract`` marker
  and the ``verify_contract`` fixture.
"""

from __future__ import annotations

from .messages import Violation, check_messages, violations
from .model import Contract, ContractError, Dlq, Faults, load_contract, parse_contract
from .runner import PoisonError, RunnerConfig

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
