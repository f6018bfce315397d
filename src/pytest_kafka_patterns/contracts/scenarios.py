"""Behaviour scenarios: inject a fault into a contract's consumer, then check its guarantee.

Each scenario produces seeded events, runs the consumer in a subprocess (see
:mod:`.harness`), injects its fault, and checks the contract's guarantee with the
plugin's assertions: ``at-least-once`` -> every event has an effect
(``assert_delivered(..., exactly_once=False)``); ``effectively-once`` -> exactly one
(``assert_exactly_once_effect``); a DLQ policy -> ``assert_routed_to_dlq``; ordering per
key -> ``assert_ordered_by_key`` on the order of first effects.

Built in: ``duplicates`` (every event produced twice, then the group re-reads from
offset 0), ``crash`` (SIGKILL between an effect and its commit at ``crash_points`` seeded
points, restart each time), ``poison`` (the handler raises for chosen events: for ever
with a DLQ policy, else on the first attempt only). More (rebalance, connection cuts
through a proxy) plug in with :func:`register_scenario`.
"""

from __future__ import annotations

import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from ..assertions import assert_routed_to_dlq, id_at
from ..waiting import poll
from . import fault_scenarios
from .context import ScenarioContext, ScenarioResult, Timeline
from .harness import ConsumerProcess, Harness, HarnessEnv
from .model import Contract, ContractError
from .sources import contract_events, make_events

__all__ = [
    "SCENARIOS",
    "ScenarioContext",
    "ScenarioResult",
    "ScenarioSpec",
    "Timeline",
    "flag_slow",
    "make_events",
    "register_scenario",
    "run_contract",
    "run_scenario",
    "scenario_names",
    "scenario_seed",
]

#: A scenario is "far slower" than the contract's others when it takes this many times
#: their median, and at least :data:`SLOW_MIN_SECONDS` longer.
SLOW_FACTOR = 3.0
SLOW_MIN_SECONDS = 10.0
#: Seconds each scenario of each contract took in this process (pytest runs one scenario
#: per test item, so a slow one is compared with those that ran before it).
DURATIONS: dict[str, dict[str, float]] = {}


ScenarioFn = Callable[[ScenarioContext], None]


def _always(contract: Contract) -> bool:
    return True


@dataclass(frozen=True)
class ScenarioSpec:
    """A listed scenario: what it runs and which contracts it applies to."""

    name: str
    run: ScenarioFn
    applies: Callable[[Contract], bool]
    description: str = ""
    backends: tuple[str, ...] | None = None
    """The Kafka backends (``--kafka-backend``) it runs on by default; ``None``: any."""

    @classmethod
    def of(cls, name: str, fn: ScenarioFn,
           applies: Callable[[Contract], bool] = _always,
           backends: tuple[str, ...] | None = None) -> ScenarioSpec:
        """The spec of ``fn``, described by its docstring."""
        return cls(name, fn, applies, (fn.__doc__ or "").strip(), backends)


def duplicates(ctx: ScenarioContext) -> None:
    """Every event produced twice; then the group is reset to offset 0 and re-reads."""
    doubled = [copy for event in ctx.events for copy in (event, event)]
    ctx.produce(doubled, " (each event twice in a row)")
    ctx.finish(ctx.start())
    ctx.reset_group(0)
    ctx.finish(ctx.start())
    ctx.check_guarantee()


#: How long a cooperating runner gets to SIGKILL itself once its crash effect is recorded.
SELF_KILL_GRACE = 2.0


def crash(ctx: ScenarioContext) -> None:
    """SIGKILL between an effect and its commit at ``crash_points`` seeded points."""
    ctx.produce(ctx.events)
    effects = len(ctx.acted_on())
    count = min(ctx.contract.faults.crash_points, effects - 1)
    points = sorted(ctx.rng.sample(range(1, effects), count))
    ctx.timeline.add(f"crash points (after effect #): {points}")
    for point in points:
        point = max(point, len(ctx.effects()) + 1)
        process = ctx.start(crash_after=point)
        def crashed(process: ConsumerProcess = process, point: int = point) -> bool:
            return process.exit_code() is not None or len(ctx.effects()) >= point

        reached = poll(crashed, timeout=ctx.contract.faults.timeout, abort=ctx.stalled).done
        if reached and ctx.contract.callable is not None:
            # A runner callable kills itself right after recording the effect; let it, so
            # the crash point is its own and not a race with our kill.
            poll(lambda: process.exit_code() is not None, timeout=SELF_KILL_GRACE)  # noqa: B023
        self_killed = process.exit_code() is not None
        process.kill()
        recorded = ctx.effects()
        how = "SIGKILLed itself" if self_killed else "SIGKILLed by the harness"
        if not reached:
            how += " (stalled before its crash point)"
        ctx.timeline.add(f"{process.label} {how} at effect #{len(recorded)} "
                         f"({len(set(recorded))} distinct event(s) have effects)")
        if not reached:
            ctx.timeline.add(f"{process.label} log tail:\n{process.log_tail()}")
    ctx.finish(ctx.start())
    ctx.check_guarantee()


def poison(ctx: ScenarioContext) -> None:
    """The handler raises for chosen events: always (DLQ policy) or once (no DLQ)."""
    candidates = ctx.acted_on()
    count = min(ctx.contract.faults.poison, len(candidates) - 1)
    ctx.poison = ctx.rng.sample(candidates, count)
    ctx.poison_failures = 0 if ctx.contract.dlq else 1
    kind = "every attempt" if ctx.poison_failures == 0 else "the first attempt"
    ids = ", ".join(str(ctx.contract.id_of(e)) for e in ctx.poison)
    ctx.timeline.add(f"poisoned {count} event(s), failing {kind}: {ids}")
    ctx.produce(ctx.events)
    ctx.finish(ctx.start())
    checked = {raw.decode() for raw in ctx.redis.hkeys(ctx.runner_config().attempts_key)}
    unchecked = [str(ctx.contract.id_of(e)) for e in ctx.poison
                 if str(ctx.contract.id_of(e)) not in checked]
    if unchecked:
        ctx.timeline.add(f"{POISON_UNCHECKED}: {', '.join(unchecked)} (does the runner call "
                         f"config.check_poison(event) with events that hold the contract's "
                         f"id_field {ctx.contract.id_field}?)")
    dlq = ctx.dlq_records()
    if ctx.dlq_topic:
        ctx.timeline.add(f"{len(dlq)} record(s) in the DLQ {ctx.dlq_topic}")
    ctx.check_guarantee()
    if ctx.contract.dlq is not None and ctx.poison_failures == 0:
        assert_routed_to_dlq(dlq, ctx.poison, processed=ctx.effects(),
                             id_of=id_at(ctx.contract.id_field),
                             max_retries=ctx.contract.dlq.max_retries)


#: Every scenario, in run order: the built-in ones above, then the group and network
#: faults of :mod:`.fault_scenarios`. Listed here, not registered by importing a module;
#: :func:`register_scenario` adds more.
SCENARIOS: dict[str, ScenarioSpec] = {spec.name: spec for spec in (
    ScenarioSpec.of("duplicates", duplicates),
    ScenarioSpec.of("crash", crash),
    ScenarioSpec.of("poison", poison),
    ScenarioSpec.of("rebalance", fault_scenarios.rebalance),
    ScenarioSpec.of("network", fault_scenarios.network,
                    applies=fault_scenarios.embedded_available),
    ScenarioSpec.of("broker-failover", fault_scenarios.broker_failover,
                    backends=("cluster",)),
)}


def register_scenario(
    name: str, *, applies: Callable[[Contract], bool] = _always
) -> Callable[[ScenarioFn], ScenarioFn]:
    """Decorator: add ``fn(ctx: ScenarioContext) -> None`` (raising ``AssertionError``)
    to :data:`SCENARIOS`, after the listed ones."""

    def add(fn: ScenarioFn) -> ScenarioFn:
        SCENARIOS[name] = ScenarioSpec.of(name, fn, applies)
        return fn

    return add


def scenario_names(contract: Contract, backend: str | None = None) -> list[str]:
    """The scenarios ``contract`` asks for (``faults.scenarios``), else all that apply to
    it on the run's Kafka ``backend`` (``broker-failover`` needs ``cluster``)."""
    if contract.faults.scenarios is not None:
        unknown = [name for name in contract.faults.scenarios if name not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
        return list(contract.faults.scenarios)
    return [name for name, spec in SCENARIOS.items() if spec.applies(contract)
            and (spec.backends is None or backend in spec.backends)]


def scenario_seed(contract: Contract, name: str, run_seed: int | None) -> int:
    """The contract's seed, else one derived from the run's seed, else a random one."""
    if contract.faults.seed is not None:
        return contract.faults.seed
    if run_seed is not None:
        return random.Random(f"{run_seed}:{contract.name}:{name}").randrange(2**31)
    return random.SystemRandom().randrange(2**31)


@contextmanager
def _context(contract: Contract, name: str, env: HarnessEnv, seed: int,
             timeline: Timeline) -> Iterator[ScenarioContext]:
    rng = random.Random(seed)
    topic = env.create_topic(f"{contract.topics[0]}-{name}", 3)
    retry_topic = dlq_topic = None
    if contract.dlq is not None:
        retry_topic = env.create_topic(f"{contract.topics[0]}-{name}-retry", 3)
        dlq_topic = env.create_topic(f"{contract.dlq.dlq_topic}-{name}", 1)
    outputs = tuple(env.create_topic(f"{topic}-{name}", 3) for topic in contract.produces)
    token = uuid.uuid4().hex[:8]
    client = redis.Redis.from_url(env.redis_url)
    harness = Harness(contract, env.workdir / f"{name}-{token}")
    ctx = ScenarioContext(
        contract=contract, env=env, harness=harness, seed=seed, rng=rng, timeline=timeline,
        topic=topic, group_id=f"contract-{contract.name}-{name}-{token}",
        effects_key=f"contract:{token}:effects", redis=client,
        events=contract_events(contract, rng),
        retry_topic=retry_topic, dlq_topic=dlq_topic, output_topics=outputs,
    )
    try:
        yield ctx
    finally:
        harness.close()
        client.close()


def run_scenario(
    contract: Contract, name: str, env: HarnessEnv, *, seed: int | None = None,
    run_seed: int | None = None,
) -> ScenarioResult:
    """Run one scenario; the result holds the seed, the timeline and any failure.
    :class:`ContractError` for a contract with Avro schemas: the scenarios produce JSON."""
    if contract.avro_schemas:
        raise ContractError(
            f"contract {contract.name!r} reads Avro, and the fault scenarios produce JSON "
            "events: running an Avro consumer under faults is not supported yet (it needs a "
            "registry every consumer process reaches). Check producers' records against "
            "it with check_messages(contract, records, registry=schema_registry)."
        )
    spec = SCENARIOS[name]
    seed = seed if seed is not None else scenario_seed(contract, name, run_seed)
    timeline = Timeline()
    error = None
    with _context(contract, name, env, seed, timeline) as ctx:
        try:
            spec.run(ctx)
        except AssertionError as exc:
            error = str(exc)
        for process in ctx.harness.processes:
            if process.exit_code() is None:
                timeline.add(f"killed leftover {process.label} (pid {process.pid})")
    result = ScenarioResult(contract.name, name, seed, timeline.entries,
                            time.monotonic() - timeline.started, error)
    if result.passed:
        result.notes += [re.sub(r"^\s*[\d.]+s\s+", "", entry) for entry in timeline.entries
                         if WAIT_RAN_OUT in entry or POISON_UNCHECKED in entry]
    return result


#: The timeline entry :meth:`ScenarioContext.finish` writes when its wait ran out.
WAIT_RAN_OUT = "did not finish the work in"
#: The timeline entry of a poison scenario whose poison never reached ``check_poison``.
POISON_UNCHECKED = "poison not injected, never checked"


def flag_slow(contract: str, results: Sequence[ScenarioResult]) -> None:
    """Note on each result that took far longer than the contract's other scenarios
    (those in ``results`` and those run before in this process)."""
    seen = DURATIONS.setdefault(contract, {})
    for result in results:
        seen[result.scenario] = result.seconds
    for result in results:
        others = [seconds for name, seconds in seen.items() if name != result.scenario]
        if not others:
            continue
        typical = statistics.median(others)
        if (result.seconds >= SLOW_FACTOR * typical
                and result.seconds - typical >= SLOW_MIN_SECONDS):
            result.notes.append(
                f"took {result.seconds:.1f} s, {result.seconds / typical:.1f}x the median "
                f"of the contract's other scenarios ({typical:.1f} s over {len(others)}): "
                "a wait probably ran to its timeout (a consumer that never commits or "
                "never finishes?)"
            )


def run_contract(contract: Contract, env: HarnessEnv, *, names: Sequence[str] | None = None,
                 seed: int | None = None, run_seed: int | None = None) -> list[ScenarioResult]:
    """Run ``names`` (default: :func:`scenario_names`) and return every result; a result
    far slower than the contract's other scenarios carries a note saying so."""
    if names is None:
        names = scenario_names(contract, env.kafka_settings.backend)
    results = [run_scenario(contract, name, env, seed=seed, run_seed=run_seed)
               for name in names]
    flag_slow(contract.name, results)
    return results


def workdir_for(base: Path, contract: Contract) -> Path:
    return base / f"contract-{contract.name}"
