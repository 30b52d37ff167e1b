"""The capacity model: from :class:`~millionscale.estimate.inputs.Inputs` to QPS,
storage, bandwidth, cache memory and servers per tier, each figure a recorded step.

The derivation, in order (every step is in :attr:`Estimate.steps`):

1. users: ``dau = mau * daily_active_fraction`` when MAU is given;
2. traffic: writes per day, average and peak write and read QPS; reads are
   ``reads_per_write`` times writes; peak is ``peak_factor`` times average;
3. storage: text and media per day (media is the ``media_fraction`` of writes
   that carry a ``media_size`` file), over the retention period, and times
   the replication factor;
4. bandwidth: ingress is writes/s times the bytes a write carries, egress is
   reads/s times the same average object (text plus its share of media);
5. cache: the hot share (80/20) of a day's reads of text objects; media is
   left to object storage and a CDN;
6. servers, from peak load over per-node capacity: web servers carry every
   request; read replicas carry the reads the cache misses; shard primaries
   carry every write and hold the text data; cache nodes carry every read and
   hold the hot set; workers carry the queued jobs.

Loads are expressed in *node-equivalents* (load ÷ one node's capacity);
nodes are their ceiling. Since every load grows linearly with users, the tier
with the most node-equivalents is the one whose first node runs out first:
:attr:`Estimate.bottleneck`. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from millionscale.errors import ConfigError
from millionscale.estimate.derivation import Derivation, Step, Unit
from millionscale.estimate.inputs import FIELDS, Inputs
from millionscale.estimate.units import SECONDS_PER_DAY

__all__ = ["TIERS", "Estimate", "Resource", "dau_per_node_step", "estimate"]

TRAFFIC = ("requests", "reads", "writes", "jobs")  # resources loaded per second
CONSTANTS: dict[str, tuple[float, Unit]] = {
    "seconds_per_day": (float(SECONDS_PER_DAY), Unit.SECONDS),
}


@dataclass(frozen=True, slots=True)
class Resource:
    """One thing a tier can run out of: which load, against which per-node capacity."""

    tier: str  # the servers key: web, db_read_replicas, shards, cache_nodes, workers
    label: str  # "web servers"
    resource: str  # "requests", "writes", "storage", "memory", "jobs"
    load: str  # step name of the peak load
    capacity: str  # input name of one node's capacity
    equivalents: str  # step name of load ÷ capacity


TIERS: tuple[Resource, ...] = (
    Resource("web", "web servers", "requests", "qps_peak", "web_rps", "web_load"),
    Resource(
        "db_read_replicas",
        "database read replicas",
        "reads",
        "db_read_qps_peak",
        "db_replica_rps",
        "db_replica_load",
    ),
    Resource(
        "shards",
        "shard primaries",
        "writes",
        "write_qps_peak",
        "shard_write_rps",
        "shard_write_load",
    ),
    Resource(
        "shards",
        "shard primaries",
        "storage",
        "text_retention",
        "shard_storage",
        "shard_storage_load",
    ),
    Resource(
        "cache_nodes", "cache nodes", "reads", "read_qps_peak", "cache_node_rps", "cache_load"
    ),
    Resource(
        "cache_nodes",
        "cache nodes",
        "memory",
        "cache_memory",
        "cache_node_memory",
        "cache_memory_load",
    ),
    Resource("workers", "queue workers", "jobs", "jobs_peak", "worker_jobs_per_s", "worker_load"),
)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The result: the inputs, every derived step in order, and what runs out first."""

    inputs: Inputs
    steps: tuple[Step, ...]
    bottleneck: Resource

    def value(self, name: str) -> float:
        """The value of the step or input called ``name``."""
        for step in self.steps:
            if step.name == name:
                return step.value
        given = self.inputs.given()
        if name in given:
            return given[name]
        raise KeyError(name)

    def has(self, name: str) -> bool:
        """Whether a step called ``name`` was derived (a tier without load has no
        daily-users-per-node step)."""
        return any(step.name == name for step in self.steps)

    def step(self, name: str) -> Step:
        """The step called ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def first_under_traffic(self) -> Resource:
        """The tier that runs out first counting only per-second loads (requests, reads,
        writes, jobs), not data held (storage, memory), which also grows with time."""
        moving = [r for r in TIERS if r.resource in TRAFFIC]
        return max(moving, key=lambda r: self.value(r.equivalents))

    def measured(self, capacity: str) -> str | None:
        """How the per-node ``capacity`` was measured here, or None if it is assumed."""
        return self.inputs.measured.get(capacity)


def _given(inputs: Inputs) -> Mapping[str, tuple[float, Unit]]:
    values = inputs.given()
    by_name = {f.name: f for f in FIELDS}
    return {name: (value, by_name[name].unit) for name, value in values.items()} | CONSTANTS


def estimate(inputs: Inputs) -> Estimate:
    """Derive every figure of the capacity model from ``inputs``.

    Raises ConfigError if a figure overflows floating point (inputs of absurd
    magnitude); every finite input within its bounds otherwise gives a result.
    """
    try:
        return _estimate(inputs)
    except OverflowError as error:
        raise ConfigError(
            f"the inputs are too large to compute: {error}",
            hint="give users, sizes and rates of realistic magnitude",
        ) from None


def _estimate(inputs: Inputs) -> Estimate:
    d = Derivation(_given(inputs))
    if inputs.dau is None:
        d.step("dau", "daily active users", "mau * daily_active_fraction", Unit.USERS)

    d.step("writes_per_day", "writes per day", "dau * writes_per_user", Unit.PER_DAY)
    d.step("write_qps", "write QPS, average", "writes_per_day / seconds_per_day", Unit.REQ_PER_S)
    d.step("write_qps_peak", "write QPS, peak", "write_qps * peak_factor", Unit.REQ_PER_S)
    d.step("read_qps", "read QPS, average", "write_qps * reads_per_write", Unit.REQ_PER_S)
    d.step("read_qps_peak", "read QPS, peak", "read_qps * peak_factor", Unit.REQ_PER_S)
    d.step("qps_peak", "all requests, peak", "write_qps_peak + read_qps_peak", Unit.REQ_PER_S)

    d.step("text_per_day", "text stored per day", "writes_per_day * text_size", Unit.BYTES)
    d.step(
        "media_per_day",
        "media stored per day",
        "writes_per_day * media_fraction * media_size",
        Unit.BYTES,
    )
    d.step("storage_per_day", "all stored per day", "text_per_day + media_per_day", Unit.BYTES)
    d.step("retention_days", "days kept", "retention / seconds_per_day", Unit.DAYS)
    d.step("text_retention", "text over retention", "text_per_day * retention_days", Unit.BYTES)
    d.step("media_retention", "media over retention", "media_per_day * retention_days", Unit.BYTES)
    d.step(
        "storage_retention",
        "all over retention",
        "text_retention + media_retention",
        Unit.BYTES,
    )
    d.step(
        "text_retention_replicated",
        "text over retention, replicated",
        "text_retention * replication",
        Unit.BYTES,
    )
    d.step(
        "media_retention_replicated",
        "media over retention, replicated",
        "media_retention * replication",
        Unit.BYTES,
    )
    d.step(
        "storage_retention_replicated",
        "all over retention, replicated",
        "storage_retention * replication",
        Unit.BYTES,
    )

    d.step(
        "object_size",
        "bytes per object (text plus its share of media)",
        "text_size + media_fraction * media_size",
        Unit.BYTES,
    )
    d.step("ingress", "ingress, average", "write_qps * object_size", Unit.BYTES_PER_S)
    d.step("ingress_peak", "ingress, peak", "write_qps_peak * object_size", Unit.BYTES_PER_S)
    d.step("egress", "egress, average", "read_qps * object_size", Unit.BYTES_PER_S)
    d.step("egress_peak", "egress, peak", "read_qps_peak * object_size", Unit.BYTES_PER_S)

    d.step("reads_per_day", "reads per day", "read_qps * seconds_per_day", Unit.PER_DAY)
    d.step(
        "cache_memory",
        "cache memory for the hot set (text objects)",
        "cache_hot_fraction * reads_per_day * text_size",
        Unit.BYTES,
    )
    d.step(
        "db_read_qps_peak",
        "reads the cache misses, peak",
        "read_qps_peak * (1 - cache_hit_ratio)",
        Unit.REQ_PER_S,
    )
    d.step("jobs_peak", "queued jobs, peak", "write_qps_peak * jobs_per_write", Unit.JOBS_PER_S)

    for r in TIERS:
        d.step(
            r.equivalents,
            f"{r.label}' worth of {r.resource}",
            f"{r.load} / {r.capacity}",
            Unit.NODES,
        )
    d.step("web", "web servers", "ceil(web_load)", Unit.NODES)
    d.step("db_read_replicas", "database read replicas", "ceil(db_replica_load)", Unit.NODES)
    d.step("shards", "shards", "ceil(max(shard_write_load, shard_storage_load))", Unit.NODES)
    d.step("cache_nodes", "cache nodes", "ceil(max(cache_load, cache_memory_load))", Unit.NODES)
    d.step("workers", "queue workers", "ceil(worker_load)", Unit.NODES)

    by_name = {s.name: s.value for s in d.steps}
    dau = inputs.dau if inputs.dau is not None else by_name["dau"]
    loads = {r.equivalents: by_name[r.equivalents] for r in TIERS}
    for r in TIERS:
        if loads[r.equivalents] > 0 and math.isfinite(dau / loads[r.equivalents]):
            d.step(
                dau_per_node_step(r),
                f"daily users one node carries ({r.label}, {r.resource})",
                f"dau / {r.equivalents}",
                Unit.USERS,
            )
    bottleneck = max(TIERS, key=lambda r: loads[r.equivalents])  # first of equals wins
    return Estimate(inputs, d.steps, bottleneck)


def dau_per_node_step(resource: Resource) -> str:
    """The name of the step saying how many daily users one node of ``resource`` carries."""
    return f"dau_per_{resource.equivalents.removesuffix('_load')}_node"
