"""Reseed factory-boy's and Faker's shared randoms without importing them.

factory-boy imports Faker (~0.5 s), which a run that builds no event should not pay. So
:func:`reseed` seeds each of the two randoms that is already imported, and remembers the
seed for the others; :func:`seed_late_imports` (called by
:mod:`pytest_kafka_patterns.factories` once it has imported factory-boy) seeds those when
they arrive. Either way a random gets the state ``factory.random.reseed_random(seed)``
would have given it before the test: nothing drew from it in between, since it did not
exist.
"""

from __future__ import annotations

import random
import sys

#: The modules holding the shared randoms: factory-boy's ``randgen`` and Faker's
#: ``random`` (``factory.random.reseed_random`` sets both to one state).
FACTORY_RANDOM = "factory.random"
FAKER_GENERATOR = "faker.generator"

#: Modules not imported when the current seed was set, with that seed.
_pending: dict[str, int] = {}


def _seed(module_name: str, seed: int) -> None:
    module = sys.modules[module_name]
    state = random.Random(seed).getstate()
    if module_name == FACTORY_RANDOM:
        # What factory.random.set_random_state does, for factory-boy's half only.
        module.randgen.state_set = True
        module.randgen.setstate(state)
    else:
        module.random.setstate(state)


def reseed(seed: int) -> None:
    """Seed factory-boy's and Faker's shared randoms now, or when they are imported."""
    _pending.clear()
    for name in (FACTORY_RANDOM, FAKER_GENERATOR):
        if name in sys.modules:
            _seed(name, seed)
        else:
            _pending[name] = seed


def seed_late_imports() -> None:
    """Give the current seed to the randoms imported since it was set (once each)."""
    for name, seed in list(_pending.items()):
        if name in sys.modules:
            del _pending[name]
            _seed(name, seed)


def forget() -> None:
    """Drop pending seeds (the run is over)."""
    _pending.clear()
