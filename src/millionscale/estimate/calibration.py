"""Calibration: per-node capacities measured by our own benchmarks instead of assumed.

Three formats are accepted, told apart by their keys:

1. the capacity search that ``millionscale bench --find-capacity --json FILE``
   writes: top-level ``highest_holding_rate``, ``slo_p99_ms``, ``steps``;
2. ``bench/results/photos_capacity.json``: one object per stage of scaling,
   each with ``highest_holding_rate`` (and ``capacity.slo_p99_ms``). Where
   the stages ran on simulated hosts, each also says its ``web_hosts``,
   ``database_hosts``, ``hosts`` (their sizes), ``per_web_host_rps`` and its
   ``bottleneck`` host: the figure is then what one web host carries, from
   the stages whose bottleneck is a web host with no database on it (the
   lowest of them), and the note says the host's size. Otherwise (or if no
   stage is bounded by a web host) the lowest stage is taken: a plan should
   assume the worst measured figure;
3. an explicit file naming capacities directly,
   ``{"web_rps": 240, "db_replica_rps": 3000, "source": "..."}``, so later
   tiers can feed what they measure. Keys are the names of
   :data:`~millionscale.estimate.inputs.CAPACITY_FIELDS`.

Formats 1 and 2 measure requests/s of one web process (or web host) of the
photo app, so they set ``web_rps`` only;
every other tier stays assumed, and the output says which is which.
:func:`calibration_from_json` is pure; :func:`load_calibration` reads the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from millionscale.errors import ConfigError
from millionscale.estimate.inputs import CAPACITY_FIELDS, FIELDS_BY_NAME

__all__ = ["Calibration", "calibration_from_json", "load_calibration"]

_FORMATS_HINT = (
    "give the JSON of 'millionscale bench --find-capacity --json FILE', "
    "bench/results/photos_capacity.json, or capacities by name such as "
    '{"web_rps": 240, "db_replica_rps": 3000}'
)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Measured per-node capacities, and for each one sentence on how it was measured."""

    capacities: Mapping[str, float]
    notes: Mapping[str, str]
    source: str


def _rate(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(
            f"{where}: highest_holding_rate is {value!r}, not a number", hint=_FORMATS_HINT
        )
    if value <= 0:
        raise ConfigError(
            f"{where}: highest_holding_rate is {value!r}: no step of the search held its SLO",
            hint="run the capacity search again from a lower --rate",
        )
    return float(value)


def _slo(data: Mapping[str, object]) -> str:
    slo = data.get("slo_p99_ms")
    return f"p99 ≤ {slo:g} ms" if isinstance(slo, int | float) else "its SLO"


def _capacity_search(data: Mapping[str, object], source: str) -> Calibration:
    if data.get("highest_holding_rate") is None:
        raise ConfigError(
            f"{source}: highest_holding_rate is null: no step of the search held its SLO",
            hint="run the capacity search again from a lower --rate",
        )
    rate = _rate(data["highest_holding_rate"], source)
    note = f"measured here: {source}, highest rate holding {_slo(data)} (one photo-app web process)"
    return Calibration({"web_rps": rate}, {"web_rps": note}, source)


def _size(host: object) -> str | None:
    """``0.25 CPUs and 1 GiB`` for a host's ``{"cpus", "memory_bytes"}`` record."""
    if not isinstance(host, Mapping):
        return None
    cpus, memory = host.get("cpus"), host.get("memory_bytes")
    if not isinstance(cpus, int | float) or not isinstance(memory, int) or memory <= 0:
        return None
    mib = memory / 2**20
    amount = f"{mib / 1024:g} GiB" if mib >= 1024 else f"{mib:g} MiB"
    return f"{cpus:g} CPUs and {amount}"


def _web_host(name: str, stage: Mapping[str, object], source: str) -> tuple[float, str] | None:
    """What one web host carried in ``stage``, if a web host with no database on it was
    its bottleneck: the rate and a sentence naming the host's size."""
    neck, rate = stage.get("bottleneck"), stage.get("per_web_host_rps")
    webs, databases, hosts = (
        stage.get("web_hosts"),
        stage.get("database_hosts"),
        stage.get("hosts"),
    )
    if not isinstance(neck, str) or rate is None or not isinstance(webs, list):
        return None
    if neck not in webs or (isinstance(databases, list) and neck in databases):
        return None
    size = _size(hosts.get(neck) if isinstance(hosts, Mapping) else None)
    per_host = _rate(rate, f"{source}: {name}: per_web_host_rps")
    count = len(webs)
    return per_host, (
        f"stage {name}, per web host ({count} web host{'s' if count != 1 else ''}, "
        f"the bottleneck a web host{f' of {size}' if size else ''})"
    )


def _stages(data: Mapping[str, object], source: str) -> Calibration:
    stages: dict[str, tuple[float, Mapping[str, object]]] = {}
    per_host: dict[str, tuple[float, str]] = {}
    for name, stage in data.items():
        if isinstance(stage, Mapping) and "highest_holding_rate" in stage:
            rate = stage["highest_holding_rate"]
            if rate is None:
                continue  # that stage held nothing; the others may have
            search = stage.get("capacity")
            details = search if isinstance(search, Mapping) else stage
            stages[str(name)] = (_rate(rate, f"{source}: {name}"), details)
            web_host = _web_host(str(name), stage, source)
            if web_host is not None:
                per_host[str(name)] = web_host
    if not stages:
        raise ConfigError(
            f"{source}: no stage has a highest_holding_rate",
            hint="run the capacity benchmark again from a lower rate",
        )
    if per_host:
        name, (rate, how) = min(per_host.items(), key=lambda item: item[1][0])
        others = ", ".join(f"{n} {r:g}/s" for n, (r, _) in per_host.items() if n != name)
        note = (
            f"measured here: {source}, {how}{f' (the lowest; {others})' if others else ''}, "
            f"highest rate holding {_slo(stages[name][1])}"
        )
        return Calibration({"web_rps": rate}, {"web_rps": note}, source)
    name, (rate, details) = min(stages.items(), key=lambda item: item[1][0])
    cpus = data.get("cpus")
    on = f" on {cpus} CPUs" if isinstance(cpus, int) else ""
    others = ", ".join(f"{n} {r:g}/s" for n, (r, _) in stages.items() if n != name)
    lowest = f" (the lowest stage; {others})" if others else ""
    note = (
        f"measured here: {source}, stage {name}{lowest}, highest rate holding "
        f"{_slo(details)}{on} (one photo-app web process)"
    )
    return Calibration({"web_rps": rate}, {"web_rps": note}, source)


def _explicit(data: Mapping[str, object], source: str) -> Calibration:
    allowed = [*CAPACITY_FIELDS, "source"]
    capacities: dict[str, float] = {}
    for key, value in data.items():
        if key not in allowed:
            raise ConfigError(
                f"{source}: {key}: unknown key", hint=f"allowed: {', '.join(allowed)}"
            )
        if key == "source":
            continue
        spec = FIELDS_BY_NAME[key]
        try:
            capacities[key] = spec.parse(value)
        except ConfigError as error:
            raise ConfigError(f"{source}: {key}: {error.message}", hint=error.hint) from None
    if not capacities:
        raise ConfigError(
            f"{source}: names no capacity", hint=f"give one of {', '.join(CAPACITY_FIELDS)}"
        )
    how = data.get("source")
    note = f"measured here: {source}" + (f", {how}" if isinstance(how, str) and how else "")
    return Calibration(capacities, dict.fromkeys(capacities, note), source)


def calibration_from_json(data: object, source: str) -> Calibration:
    """The capacities in parsed calibration JSON ``data``; ``source`` names it in messages."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: not a JSON object", hint=_FORMATS_HINT)
    if "highest_holding_rate" in data:
        return _capacity_search(data, source)
    if any(isinstance(v, Mapping) and "highest_holding_rate" in v for v in data.values()):
        return _stages(data, source)
    if any(key in CAPACITY_FIELDS for key in data):
        return _explicit(data, source)
    raise ConfigError(f"{source}: not a calibration file", hint=_FORMATS_HINT)


def load_calibration(path: Path) -> Calibration:
    """Read the calibration JSON at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"calibration file {path} does not exist",
            hint="give a bench result, such as bench/results/photos_capacity.json",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"cannot read calibration file {path}: {error}", hint=_FORMATS_HINT
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path}:{error.lineno}: not valid JSON: {error.msg}", hint=_FORMATS_HINT
        ) from None
    return calibration_from_json(data, str(path))
