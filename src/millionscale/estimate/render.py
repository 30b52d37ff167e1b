"""How an estimate is shown: the explanation, the JSON and the rich tables.

All three read the same :class:`~millionscale.estimate.derivation.Step`
records, so they cannot disagree: the number an explanation line ends with is
the number the JSON holds for that figure (to the six or more significant
digits the explanation prints). JSON values are raw: bytes, bytes per
second, requests per second, whatever the display units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table

from millionscale.estimate.derivation import Step, Term, Unit
from millionscale.estimate.inputs import FIELDS, FIELDS_BY_NAME
from millionscale.estimate.latency import CLASSIC_LATENCIES, LatencyRow, Measured
from millionscale.estimate.model import TIERS, TRAFFIC, Estimate, Resource, dau_per_node_step
from millionscale.estimate.units import (
    POWERS_OF_TWO,
    UnitSystem,
    format_bits_per_s,
    format_count,
    format_duration,
    format_exact,
    format_latency,
    format_size,
)
from millionscale.render import Column, Records

__all__ = [
    "JSON_LAYOUT",
    "bottleneck_sentence",
    "estimate_json",
    "estimate_tables",
    "explain_lines",
    "latency_json",
    "latency_table",
    "powers_of_two_table",
    "show_value",
]

# Where each step's value goes in the JSON: section -> key -> step name.
JSON_LAYOUT: Mapping[str, Mapping[str, str]] = {
    "qps": {
        "write": "write_qps",
        "write_peak": "write_qps_peak",
        "read": "read_qps",
        "read_peak": "read_qps_peak",
        "total_peak": "qps_peak",
        "db_read_peak": "db_read_qps_peak",
        "jobs_peak": "jobs_peak",
    },
    "storage": {
        "text_per_day_bytes": "text_per_day",
        "media_per_day_bytes": "media_per_day",
        "total_per_day_bytes": "storage_per_day",
        "retention_days": "retention_days",
        "text_retention_bytes": "text_retention",
        "media_retention_bytes": "media_retention",
        "total_retention_bytes": "storage_retention",
        "text_retention_replicated_bytes": "text_retention_replicated",
        "media_retention_replicated_bytes": "media_retention_replicated",
        "total_retention_replicated_bytes": "storage_retention_replicated",
    },
    "bandwidth": {
        "object_bytes": "object_size",
        "ingress_bytes_per_s": "ingress",
        "egress_bytes_per_s": "egress",
        "ingress_peak_bytes_per_s": "ingress_peak",
        "egress_peak_bytes_per_s": "egress_peak",
    },
    "cache": {"memory_bytes": "cache_memory", "reads_per_day": "reads_per_day"},
    "servers": {
        "web": "web",
        "db_read_replicas": "db_read_replicas",
        "shards": "shards",
        "cache_nodes": "cache_nodes",
        "workers": "workers",
    },
}

_SHORT = {
    "web": "web",
    "db_read_replicas": "read replicas",
    "shards": "shards",
    "cache_nodes": "cache",
    "workers": "workers",
}
_LABELS = {
    Unit.USERS: "users",
    Unit.PER_DAY: "/day",
    Unit.REQ_PER_S: "req/s",
    Unit.JOBS_PER_S: "jobs/s",
    Unit.BYTES: "B",
    Unit.BYTES_PER_S: "B/s",
    Unit.SECONDS: "s",
    Unit.DAYS: "days",
    Unit.NODES: "nodes",
    Unit.RATIO: "",
}


def show_value(value: float, unit: Unit, system: UnitSystem) -> str:
    """``value`` in the unit a reader expects: 30 TB, 3,472 req/s, 150M users, 5y."""
    if unit is Unit.BYTES:
        return format_size(value, system)
    if unit is Unit.BYTES_PER_S:
        return f"{format_size(value, system)}/s"
    if unit is Unit.SECONDS:
        return format_duration(value)
    label = _LABELS[unit]
    text = format_count(value)
    return f"{text} {label}" if label and unit is not Unit.PER_DAY else text + label


def _term(term: Term, system: UnitSystem) -> str:
    if term.unit is Unit.BYTES:
        return format_size(term.value, system)
    if term.unit is Unit.BYTES_PER_S:
        return f"{format_size(term.value, system)}/s"
    if term.unit is Unit.SECONDS:
        return f"{format_exact(term.value)} s"
    return format_count(term.value)


def _result(step: Step, system: UnitSystem) -> str:
    label = _LABELS[step.unit]
    text = f"= {format_exact(step.value)}" + (f" {label}" if label else "")
    if step.unit in (Unit.BYTES, Unit.BYTES_PER_S) and step.value >= 1000:
        human = show_value(step.value, step.unit, system)
        if step.unit is Unit.BYTES_PER_S:
            human += f", {format_bits_per_s(step.value)}"
        text += f"  ({human})"
    elif step.unit in (Unit.USERS, Unit.PER_DAY) and step.value >= 1e6:
        text += f"  ({format_count(step.value)})"
    return text


def explain_lines(result: Estimate, system: UnitSystem = UnitSystem.DECIMAL) -> list[str]:
    """The derivation, three lines per figure: its formula, the numbers, the result."""
    base = "1 KB = 1,000 B" if system is UnitSystem.DECIMAL else "1 KiB = 1,024 B"
    lines = [f"how each figure is derived ({system.value} units: {base})", ""]
    for step in result.steps:
        lines.append(step.title)
        head = f"  {step.name} = "
        pad = " " * (len(head) - 2)
        lines.append(head + step.symbolic())
        lines.append(pad + "= " + step.substituted(lambda t: _term(t, system)))
        lines.append(pad + _result(step, system))
        lines.append("")
    lines.append(bottleneck_sentence(result))
    return lines


def bottleneck_sentence(result: Estimate) -> str:
    """Which tier runs out first, and at how many daily users one node of it is full."""
    r = result.bottleneck
    load = result.value(r.equivalents)
    where = "measured here" if result.measured(r.capacity) else "assumed"
    when = "at peak" if r.resource in TRAFFIC else "in all"
    text = f"runs out first: {r.label} ({r.resource}): {format_count(load)} nodes' worth {when}"
    if result.has(dau_per_node_step(r)):
        users = result.value(dau_per_node_step(r))
        text += f"; one node (capacity {where}) is full at {format_count(users)} daily users"
    t = result.first_under_traffic
    if t != r:
        where = "measured here" if result.measured(t.capacity) else "assumed"
        text += (
            f". Under traffic alone: {t.label} ({t.resource}), "
            f"{format_count(result.value(t.equivalents))} nodes' worth at peak"
        )
        if result.has(dau_per_node_step(t)):
            users = result.value(dau_per_node_step(t))
            text += f"; one node (capacity {where}) is full at {format_count(users)} daily users"
    return text


def _number(value: float) -> float | int:
    """A JSON number without float noise: 12 significant digits, an int when whole."""
    value = float(f"{value:.12g}")
    return int(value) if value == int(value) and abs(value) < 2**63 else value


def _tier_json(result: Estimate, r: Resource) -> dict[str, Any]:
    load = result.value(r.equivalents)
    per_node = FIELDS_BY_NAME[r.capacity]
    note = result.measured(r.capacity)
    return {
        "tier": r.tier,
        "resource": r.resource,
        "load": _number(result.value(r.load)),
        "load_unit": _LABELS[result.step(r.load).unit],
        "per_node": _number(result.value(r.capacity)),
        "capacity": "measured here" if note else "assumed",
        "capacity_note": note or per_node.source,
        "node_equivalents": _number(load),
        "nodes": int(result.value(r.tier)),
        "dau_per_node": (
            _number(result.value(dau_per_node_step(r)))
            if result.has(dau_per_node_step(r))
            else None
        ),
    }


def estimate_json(
    result: Estimate,
    system: UnitSystem = UnitSystem.DECIMAL,
    *,
    scenario: str | None = None,
    origin: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The estimate as JSON-ready data; every number comes from a step or an input."""
    data: dict[str, Any] = {
        "scenario": scenario,
        "units": system.value,
        "dau": _number(result.value("dau")),
        "inputs": {name: _number(v) for name, v in result.inputs.given().items()},
    }
    if origin is not None:
        data["input_origin"] = dict(origin)
    for section, keys in JSON_LAYOUT.items():
        data[section] = {key: _number(result.value(step)) for key, step in keys.items()}
    data["cache"]["hit_ratio"] = result.inputs.cache_hit_ratio
    data["tiers"] = [_tier_json(result, r) for r in TIERS]
    b = result.bottleneck
    data["bottleneck"] = {
        "tier": b.tier,
        "resource": b.resource,
        "node_equivalents": _number(result.value(b.equivalents)),
        "dau_per_node": (
            _number(result.value(dau_per_node_step(b)))
            if result.has(dau_per_node_step(b))
            else None
        ),
        "capacity": "measured here" if result.measured(b.capacity) else "assumed",
        "first_under_traffic": result.first_under_traffic.tier,
    }
    data["derivation"] = [
        {
            "name": s.name,
            "title": s.title,
            "formula": s.symbolic(),
            "substituted": s.substituted(lambda t: _term(t, system)),
            "value": _number(s.value),
            "unit": _LABELS[s.unit],
        }
        for s in result.steps
    ]
    return data


def estimate_tables(
    result: Estimate,
    system: UnitSystem = UnitSystem.DECIMAL,
    *,
    scenario: str | None = None,
    origin: Mapping[str, str] | None = None,
) -> list[Table]:
    """The human view: inputs, traffic, storage, bandwidth, cache, servers."""
    v = result.value

    def show(name: str) -> str:
        step = result.step(name)
        return show_value(step.value, step.unit, system)

    title = f"scenario {scenario}" if scenario else "estimate"
    inputs = Table(title=f"{title}: inputs", title_justify="left")
    for column in ("input", "value", "from", "note"):
        inputs.add_column(column, overflow="fold")
    given = result.inputs.given()
    for f in FIELDS:
        if f.name not in given:
            continue
        where = (origin or {}).get(f.name, "")
        note = result.measured(f.name) or (f.source if where in ("default", "") else f.title)
        inputs.add_row(f.name, show_value(given[f.name], f.unit, system), where, note)

    traffic = Table(title="traffic", title_justify="left")
    for column in ("requests", "average", "peak"):
        traffic.add_column(column, justify="right" if column != "requests" else "left")
    traffic.add_row("writes", show("write_qps"), show("write_qps_peak"))
    traffic.add_row("reads", show("read_qps"), show("read_qps_peak"))
    traffic.add_row("all", "", show("qps_peak"))
    traffic.add_row("reads reaching the database", "", show("db_read_qps_peak"))
    traffic.add_row("queued jobs", "", show("jobs_peak"))

    years = format_duration(result.inputs.retention)
    storage = Table(title="storage", title_justify="left")
    storage.add_column("data")
    for column in (
        "per day",
        f"over {years}",
        f"over {years}, {format_count(v('replication'))} copies",
    ):
        storage.add_column(column, justify="right")
    for label, key in (("text", "text"), ("media", "media"), ("all", "storage")):
        storage.add_row(
            label,
            show(f"{key}_per_day"),
            show(f"{key}_retention"),
            show(f"{key}_retention_replicated"),
        )

    bandwidth = Table(title="bandwidth", title_justify="left")
    for column in ("direction", "average", "peak"):
        bandwidth.add_column(column, justify="right" if column != "direction" else "left")
    for label, key in (("ingress (writes)", "ingress"), ("egress (reads)", "egress")):
        bandwidth.add_row(
            label,
            f"{show(key)} ({format_bits_per_s(v(key))})",
            f"{show(key + '_peak')} ({format_bits_per_s(v(key + '_peak'))})",
        )

    cache = Table(title="cache", title_justify="left")
    cache.add_column("figure")
    cache.add_column("value", justify="right")
    cache.add_row("memory for the hot set", show("cache_memory"))
    cache.add_row("hit ratio", f"{result.inputs.cache_hit_ratio:.0%}")

    servers = Table(title="servers at peak", title_justify="left")
    for column in (
        "tier",
        "runs out of",
        "peak load",
        "per node",
        "capacity",
        "nodes' worth",
        "nodes",
        "DAU per node",
    ):
        servers.add_column(column, justify="left" if column in ("tier", "runs out of") else "right")
    for r in TIERS:
        load = v(r.equivalents)
        capacity = FIELDS_BY_NAME[r.capacity]
        first = r == result.bottleneck
        servers.add_row(
            _SHORT[r.tier] + (" (first)" if first else ""),
            r.resource,
            show(r.load),
            show_value(v(r.capacity), capacity.unit, system),
            "[green]measured[/]" if result.measured(r.capacity) else "assumed",
            format_count(load),
            format_count(v(r.tier)),
            format_count(v(dau_per_node_step(r))) if result.has(dau_per_node_step(r)) else "-",
            style="bold red" if first else None,
        )
    return [inputs, traffic, storage, bandwidth, cache, servers]


def latency_table(rows: Iterable[LatencyRow], *, measured: bool) -> Records:
    """The latency numbers, with this machine's figures beside them when ``measured``.

    The operation and the note wrap between words; figures and sources never do.
    """
    columns = [
        Column("operation", free_text=True),
        Column("classic", right=True),
        Column("source"),
    ]
    if measured:
        columns += [Column("measured here", right=True), Column("vs classic", right=True)]
    columns.append(Column("note", free_text=True))
    cells: list[list[str]] = []
    for row in rows:
        line = [
            row.operation,
            format_latency(row.classic_s) if row.classic_s is not None else "-",
            row.source.key if row.source else "-",
        ]
        if measured:
            line.append(format_latency(row.measured_s) if row.measured_s is not None else "-")
            ratio = (
                f"{row.measured_s / row.classic_s:.2g}"
                if row.measured_s is not None and row.classic_s
                else ""
            )
            line.append(ratio)
        note = row.note
        if measured and row.how:
            note = f"{note}; {row.how}" if note else row.how
        line.append(note)
        cells.append(line)
    return Records.of(columns, cells, title="latency numbers")


def powers_of_two_table() -> Records:
    """The powers-of-two table: 2^10 ≈ 1 thousand = 1 KB (exactly 1 KiB), ..."""
    columns: list[Column | str] = ["power", Column("exact bytes", right=True), "approximately"]
    columns += ["name", "napkin"]
    rows = [
        [
            f"2^{p.power}",
            f"{p.exact:,}",
            p.approximate,
            p.name,
            f"1 {p.decimal_unit}",
            f"1 {p.binary_unit}",
        ]
        for p in POWERS_OF_TWO
    ]
    return Records.of([*columns, "exactly"], rows, title="powers of two")


def latency_json(measured: Iterable[Measured] = ()) -> dict[str, Any]:
    """The classic table and this machine's figures as JSON-ready data (seconds)."""
    return {
        "classic": [
            {
                "key": f.key,
                "operation": f.operation,
                "seconds": f.seconds,
                "source": f.source.citation,
                "url": f.source.url,
                "note": f.note,
            }
            for f in CLASSIC_LATENCIES
        ],
        "measured": [
            {
                "key": m.key,
                "operation": m.operation,
                "seconds": m.seconds,
                "how": m.how,
                "compare_to": m.compare_to,
            }
            for m in measured
        ],
    }
