"""Run a contract's scenarios side by side, one thread each, in this process.

The scenarios of a contract are independent: each has its own topics, consumer group,
Redis keys, harness directory and (for ``network``) its own proxy; each runs its
consumer in child processes and spends almost all of its time waiting on the broker
(Tansu answers a fresh group's JoinGroup after a second, a crash restart waits out the
dead member). Run one after another, a consumer's five scenarios take ~30 s on the
embedded broker; side by side, about as long as the slowest one (``crash``). Measured by
``benchmarks/contracts.py``, which prints both in the same run.

Threads, not processes: the waits are the broker's, so a second interpreter per scenario
(as pytest-xdist gives) adds start-up CPU without removing any wait. Every scenario
stops its processes before its thread returns; a process a scenario leaves running on
purpose (a cluster broker restarted by ``broker-failover``) is forked by one of
:mod:`..process`'s long-lived spawner threads, since ``PR_SET_PDEATHSIG`` is tied to the
*thread* that forks a child.

Verdicts and messages are those of :func:`.scenarios.run_scenario`: each scenario is the
same code with the same seed; only the wall clock changes.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import pytest

from .harness import HarnessEnv
from .model import Contract
from .scenarios import ScenarioResult, flag_slow, run_scenario, scenario_names

__all__ = ["SharedRuns", "run_contract_parallel", "side_by_side"]


def _serialised(env: HarnessEnv) -> HarnessEnv:
    """``env`` whose topic maker runs one call at a time (one admin client behind it)."""
    lock = threading.Lock()
    create = env.create_topic

    def create_topic(name: str, partitions: int) -> str:
        with lock:
            return create(name, partitions)

    return dataclasses.replace(env, create_topic=create_topic)


def run_contract_parallel(
    contract: Contract, env: HarnessEnv, *, names: Sequence[str] | None = None,
    seed: int | None = None, run_seed: int | None = None, max_workers: int | None = None,
) -> list[ScenarioResult]:
    """As :func:`.scenarios.run_contract`, with the scenarios run concurrently.

    Returns one :class:`ScenarioResult` per name, in the order of ``names`` (default:
    :func:`.scenarios.scenario_names`). ``max_workers`` caps the threads (default: one
    per scenario). An exception other than a failed check (which is a result), or a
    KeyboardInterrupt, is raised at once, without waiting for the other scenarios.
    """
    wanted = list(names if names is not None else scenario_names(contract))
    if not wanted:
        return []
    shared = _serialised(env)
    pool = ThreadPoolExecutor(max_workers or len(wanted),
                              thread_name_prefix=f"contract-{contract.name}")
    try:
        futures = [pool.submit(run_scenario, contract, name, shared, seed=seed,
                               run_seed=run_seed) for name in wanted]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future.done() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        results = [future.result() for future in futures]
    except BaseException:
        # Ctrl-C (or a failed scenario set-up): do not wait for the other scenarios to
        # run their course. pytest goes on to stop the broker and Redis, so what is still
        # running fails fast; each scenario kills its consumers as its thread ends.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    flag_slow(contract.name, results)
    return results


def side_by_side(config: pytest.Config) -> bool:
    """Whether the items of a contract file share one side-by-side run in this process.

    Not under pytest-xdist (a worker does not know which items it will get; there the
    workers are the concurrency) and not with ``--kafka-contracts-one-by-one`` (for a
    consumer that cannot run five copies at once, e.g. one that binds a fixed port).
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    from ..fixtures import SETTINGS_KEY

    return not config.stash[SETTINGS_KEY].contracts_one_by_one


class SharedRuns:
    """The results of each contract file's side-by-side run, kept for its items."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], ScenarioResult] = {}
        self._ran: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def result(self, key: str, name: str, run: Callable[[Sequence[str]], list[ScenarioResult]],
               wanted: Sequence[str]) -> ScenarioResult:
        """The result of scenario ``name`` of the contract file ``key``: the first item
        of the file to ask runs every scenario in ``wanted`` (the file's items that this
        session runs) side by side; later items get their result from that run. A
        scenario not run yet (an item selected again, e.g. by a rerun plugin) runs
        alone."""
        with self._lock:
            if (key, name) not in self._results:
                todo = [n for n in wanted if (key, n) not in self._ran]
                if name not in todo:
                    todo = [name]
                for result in run(todo):
                    self._results[(key, result.scenario)] = result
                    self._ran.add((key, result.scenario))
            return self._results.pop((key, name))


_RUNS_KEY: pytest.StashKey[SharedRuns] = pytest.StashKey()


def shared_result(request: pytest.FixtureRequest, contract: Contract, name: str,
                  make_env: Callable[[], HarnessEnv], run_seed: int | None) -> ScenarioResult:
    """For the pytest item of scenario ``name`` (``request`` is its fixture request):
    its result from the side-by-side run of the scenarios of its contract file that this
    session runs (after ``-k`` and other deselection)."""
    runs = request.config.stash.setdefault(_RUNS_KEY, SharedRuns())
    parent = request.node.parent
    wanted = [item.name for item in request.session.items if item.parent is parent]

    def run(names: Sequence[str]) -> list[ScenarioResult]:
        return run_contract_parallel(contract, make_env(), names=names, run_seed=run_seed)

    return runs.result(str(parent.nodeid), name, run, wanted)
