"""Back-of-the-envelope estimation and capacity planning, every figure derived step by step.

Layers, bottom up:

- :mod:`.units` (pure): the powers-of-two table; parsing and formatting of
  sizes (``1.5TB``, ``500KiB``), counts (``150M``), durations (``5y``) and
  fractions; decimal units by default, binary on request;
- :mod:`.latency` (pure): the latency numbers every engineer should know,
  each with its source, and rows that put this machine's figures beside them;
- :mod:`.derivation` (pure): a figure is a :class:`Step` recording its
  formula, the numbers substituted and its result; the formula text is what
  is evaluated;
- :mod:`.inputs` (pure): the table of every input with its bounds, default
  and the default's source; :class:`Inputs`;
- :mod:`.model` (pure): :func:`estimate`, from inputs to QPS, storage,
  bandwidth, cache and servers per tier, and which tier runs out first;
- :mod:`.calibration`: per-node capacities measured by ``millionscale bench``;
- :mod:`.scenario`: scenario TOML files, flag overrides, merging into inputs;
- :mod:`.render`: the explanation, the JSON and the rich tables, all from the
  same steps;
- :mod:`.measure` (I/O): latency figures measured on this machine;
- :mod:`.command`: the glue ``millionscale estimate`` calls.
"""

from millionscale.estimate.calibration import Calibration, calibration_from_json, load_calibration
from millionscale.estimate.derivation import Derivation, Step, Term, Unit
from millionscale.estimate.inputs import CAPACITY_FIELDS, FIELDS, InputField, Inputs, Kind
from millionscale.estimate.latency import (
    CLASSIC_LATENCIES,
    LatencyFigure,
    LatencyRow,
    Measured,
    Source,
    latency_rows,
)
from millionscale.estimate.model import TIERS, Estimate, Resource, estimate
from millionscale.estimate.render import estimate_json, explain_lines
from millionscale.estimate.scenario import (
    Scenario,
    load_scenario,
    parse_flags,
    parse_scenario,
    resolve_inputs,
)
from millionscale.estimate.units import (
    POWERS_OF_TWO,
    PowerOfTwo,
    UnitSystem,
    format_count,
    format_duration,
    format_size,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_size,
)

__all__ = [
    "CAPACITY_FIELDS",
    "CLASSIC_LATENCIES",
    "FIELDS",
    "POWERS_OF_TWO",
    "TIERS",
    "Calibration",
    "Derivation",
    "Estimate",
    "InputField",
    "Inputs",
    "Kind",
    "LatencyFigure",
    "LatencyRow",
    "Measured",
    "PowerOfTwo",
    "Resource",
    "Scenario",
    "Source",
    "Step",
    "Term",
    "Unit",
    "UnitSystem",
    "calibration_from_json",
    "estimate",
    "estimate_json",
    "explain_lines",
    "format_count",
    "format_duration",
    "format_size",
    "latency_rows",
    "load_calibration",
    "load_scenario",
    "parse_count",
    "parse_duration",
    "parse_flags",
    "parse_fraction",
    "parse_scenario",
    "parse_size",
    "resolve_inputs",
]
