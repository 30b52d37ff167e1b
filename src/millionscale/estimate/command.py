"""Glue for ``millionscale estimate``: read the files, merge the flags, print.

    millionscale estimate [SCENARIO.toml] [--dau 1M ...] [--calibrate RESULTS.json]
                          [--explain] [--json] [--binary | --decimal]
    millionscale estimate latency [--measure] [--json]

Every mistake is a :class:`~millionscale.errors.ConfigError`, which the
command line prints as one line and exits 2 for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from millionscale.errors import ConfigError
from millionscale.estimate.calibration import load_calibration
from millionscale.estimate.inputs import FIELDS_BY_NAME
from millionscale.estimate.latency import Measured, latency_rows
from millionscale.estimate.model import TIERS, estimate
from millionscale.estimate.render import (
    bottleneck_sentence,
    estimate_json,
    estimate_tables,
    explain_lines,
    latency_json,
    latency_table,
    powers_of_two_table,
    show_value,
)
from millionscale.estimate.scenario import load_scenario, parse_flags, resolve_inputs
from millionscale.estimate.units import UnitSystem

__all__ = ["LATENCY", "EstimateRequest", "run_estimate", "run_latency"]

LATENCY = "latency"  # the word that selects the latency table instead of a scenario file


@dataclass(frozen=True, slots=True)
class EstimateRequest:
    """What the command line asked for; flag values still text, None when absent."""

    scenario: Path | None
    flags: Mapping[str, str | None]
    calibrate: Path | None = None
    system: UnitSystem = UnitSystem.DECIMAL
    explain: bool = False
    as_json: bool = False


def run_estimate(request: EstimateRequest, console: Console) -> None:
    """Estimate and print: tables, or the derivation with ``explain``, or JSON."""
    scenario = load_scenario(request.scenario) if request.scenario is not None else None
    flags = parse_flags(request.flags)
    calibration = load_calibration(request.calibrate) if request.calibrate is not None else None
    if scenario is None and not {"dau", "mau"} & set(flags):
        raise ConfigError(
            "nothing to estimate: no scenario file and no users",
            hint="give a scenario such as scenarios/twitter.toml, or --dau 1M "
            "(or --mau 300M --daily-active-fraction 0.5)",
        )
    resolved = resolve_inputs(scenario, flags, calibration)
    result = estimate(resolved.inputs)
    name = scenario.name if scenario is not None else None
    if request.as_json:
        data = estimate_json(result, request.system, scenario=name, origin=resolved.origin)
        print(json.dumps(data, indent=2))
        return
    if request.explain:
        for line in explain_lines(result, request.system):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    for table in estimate_tables(result, request.system, scenario=name, origin=resolved.origin):
        console.print(table)
    console.print(bottleneck_sentence(result), markup=False, highlight=False, soft_wrap=True)
    measured = [r.label for r in TIERS if result.measured(r.capacity)]
    assumed = [r.label for r in TIERS if not result.measured(r.capacity)]
    if measured:
        ours = [
            f"{int(result.value(r.tier))} {r.label} "
            f"({show_value(result.value(r.capacity), FIELDS_BY_NAME[r.capacity].unit, request.system)}"
            " each)"
            for r in TIERS
            if result.measured(r.capacity)
        ]
        console.print(
            f"our own nodes, as measured here: {', '.join(ours)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"capacity measured here: {', '.join(dict.fromkeys(measured))}; "
            f"assumed: {', '.join(dict.fromkeys(assumed))}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for capacity, note in result.inputs.measured.items():
            console.print(f"  {capacity}: {note}", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(
            "every per-node capacity is assumed; --calibrate RESULTS.json uses ours, "
            "measured by 'millionscale bench --find-capacity'",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def run_latency(console: Console, *, measure: bool, as_json: bool) -> None:
    """Print the latency numbers (and the powers of two); with ``measure``, this machine's."""
    measured: tuple[Measured, ...] = ()
    if measure:
        from millionscale.estimate.measure import measure_machine

        if as_json:
            measured = measure_machine()
        else:
            with console.status("measuring") as status:
                measured = measure_machine(say=lambda what: status.update(what))
    if as_json:
        print(json.dumps(latency_json(measured), indent=2))
        return
    console.print(powers_of_two_table())
    console.print(latency_table(latency_rows(measured), measured=measure))
    sources = {r.source.key: r.source for r in latency_rows() if r.source is not None}
    for source in sources.values():
        console.print(
            f"{source.key}: {source.citation}, {source.url}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
