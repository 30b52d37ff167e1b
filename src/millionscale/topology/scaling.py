"""Scaling a replicated process while it runs: which set is meant, who starts, who drains.

``millionscale scale web=4`` (the control endpoint's ``POST /v1/scale``) names
a replicated process of the topology file, or a tier with one; the supervisor
asks :func:`replica_set` which replicated process that is, and
:func:`plan_scale` what to do about it. Both are pure; the supervisor carries
the plan out (:mod:`.replicas` makes each new replica's spec and host).

The rules of a plan:

- replicas being drained do not count: ``web=2`` after ``web=4`` leaves two
  that stay, whatever is still draining;
- a scale-up takes the lowest free numbers from 1 (a number is not free while
  a process or a host of that name is still there: one draining, say);
- a scale-down drains the highest-numbered replicas first, so that the
  file's first ones stay (and ``web-1`` is the last to go);
- at least one replica stays, at most :data:`~.model.MAX_REPLICAS` run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from millionscale.errors import ConfigError, MembershipError, UnknownProcessError
from millionscale.topology.model import MAX_REPLICAS, Topology
from millionscale.topology.replicas import replica_name
from millionscale.topology.resolve import ResolvedProcess

__all__ = ["ScalePlan", "plan_scale", "replica_set"]


@dataclass(frozen=True, slots=True)
class ScalePlan:
    """What scaling ``name`` from ``before`` to ``replicas`` live replicas takes."""

    name: str
    before: int
    replicas: int
    start: tuple[int, ...]  # the numbers of the replicas to start, lowest first
    drain: tuple[str, ...]  # the replicas to drain, highest-numbered first

    def sentence(self) -> str:
        """One line for the log: ``web: 2 -> 4 replicas: starting web-3, web-4``."""
        head = f"{self.name}: {self.before} -> {self.replicas} replicas"
        if self.start:
            started = ", ".join(replica_name(self.name, i) for i in self.start)
            return f"{head}: starting {started}"
        if self.drain:
            return f"{head}: draining {', '.join(self.drain)}"
        return f"{head}: nothing to do"


def replica_set(target: str, topology: Topology, running: Iterable[ResolvedProcess]) -> str:
    """The replicated process of ``topology`` (the file's) that ``target`` names: itself,
    or the one replicated process of tier ``target``.

    Raises :class:`UnknownProcessError` when no process or tier is named so,
    :class:`MembershipError` when what is named is not replicated or is
    ambiguous (a tier of several replicated processes).
    """
    spec = topology.processes.get(target)
    if spec is not None and spec.replicas is not None:
        return target
    processes = list(running)
    sets = sorted(n for n, s in topology.processes.items() if s.replicas is not None)
    of_tier = [n for n in sets if topology.processes[n].tier == target]
    if len(of_tier) == 1:
        return of_tier[0]
    hint = (
        f"replicated here: {', '.join(sets)}"
        if sets
        else "give a process 'replicas = N' in the topology file, and start it again"
    )
    if len(of_tier) > 1:
        raise MembershipError(
            f"tier {target} has several replicated processes ({', '.join(of_tier)})",
            hint="scale each by its name",
        )
    one = next((p for p in processes if p.name == target), None)
    if one is not None and one.replica_set is not None:
        raise MembershipError(
            f"{target} is one replica of {one.replica_set}",
            hint=f"scale the set: {one.replica_set}=N",
        )
    if one is not None or spec is not None:
        raise MembershipError(f"{target} is not replicated", hint=hint)
    if any(p.tier == target for p in processes):
        raise MembershipError(f"tier {target} has no replicated process", hint=hint)
    raise UnknownProcessError(
        f"no process or tier named {target} runs here",
        hint=f"running: {', '.join(p.name for p in processes)}; {hint}",
    )


def plan_scale(
    name: str, live: Mapping[int, str], taken: Callable[[int], bool], replicas: int
) -> ScalePlan:
    """How to take set ``name`` from its ``live`` replicas (by number; draining ones
    left out) to ``replicas``; ``taken(i)`` says whether number ``i`` is in use by
    something still there (a draining replica, its host, another process of that name).

    Raises :class:`ConfigError` for a count out of bounds, and
    :class:`MembershipError` when no number is free for a new replica.
    """
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ConfigError(
            f"{name}={replicas}: a replicated process runs from 1 to {MAX_REPLICAS} replicas",
            hint="give a count in that range",
        )
    before = len(live)
    if replicas >= before:
        free = [i for i in range(1, MAX_REPLICAS + 1) if i not in live and not taken(i)]
        wanted = replicas - before
        if len(free) < wanted:
            raise MembershipError(
                f"{name}: no free number for {wanted - len(free)} more replicas "
                f"(numbers 1 to {MAX_REPLICAS}; some are still draining)",
                hint="wait for the draining replicas to go, then scale again",
            )
        return ScalePlan(name, before, replicas, tuple(free[:wanted]), ())
    highest = sorted(live, reverse=True)[: before - replicas]
    return ScalePlan(name, before, replicas, (), tuple(live[i] for i in highest))
