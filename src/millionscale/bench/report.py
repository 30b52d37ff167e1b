"""Results for machines (a JSON file) and for people (rich tables).

The JSON of a run is :meth:`Summary.to_json`; the JSON of a capacity search is
:meth:`CapacityResult.to_json`. Files are written whole or not at all
(written beside the target, then renamed over it).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from millionscale.bench.capacity import CapacityResult
from millionscale.bench.diagnosis import diagnose
from millionscale.bench.recorder import LATE_SEND_MS, Summary
from millionscale.errors import ConfigError

__all__ = ["LAG_WARNING_MS", "capacity_table", "check_writable", "summary_table", "write_json"]

# A generator that sends this late was short of something; the tables say what.
LAG_WARNING_MS = LATE_SEND_MS


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically; ConfigError if it cannot."""
    text = json.dumps(data, indent=2) + "\n"
    try:
        fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(
            f"cannot write the result to {path}: {error.strerror or error}",
            hint="pass a --json path in a directory you can write to",
        ) from None


def check_writable(path: Path) -> None:
    """Raise :class:`ConfigError` unless a result could be written to ``path``."""
    folder = path.parent
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(
            f"cannot write the result to {path}: "
            + ("it is a directory" if path.is_dir() else f"{folder} is not a writable directory"),
            hint="pass a --json path in a directory you can write to",
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def summary_table(summary: Summary, *, title: str = "bench") -> Table:
    """One run: rate, throughput, latency percentiles and errors by kind."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("target rate", f"{summary.rate:,.1f}/s for {summary.duration_s:g} s")
    table.add_row("requests", f"{summary.requests:,}")
    table.add_row("throughput (ok)", f"{summary.throughput:,.1f}/s")
    latency = summary.latency_ms
    for name, value in (
        ("p50", latency.p50),
        ("p90", latency.p90),
        ("p99", latency.p99),
        ("p99.9", latency.p999),
        ("max", latency.max),
    ):
        table.add_row(f"latency {name}", f"{_ms(value)} ms")
    colour = "green" if summary.error_count == 0 else "red"
    table.add_row("errors", f"[{colour}]{summary.error_count:,} ({summary.error_rate:.2%})[/]")
    for kind, count in summary.errors:
        if count:
            table.add_row(f"  {kind}", f"{count:,}")
    for finding in diagnose(summary):
        table.add_row(f"[yellow]short: {finding.resource}[/]", Text(finding.sentence, "yellow"))
    return table


def capacity_table(capacity: CapacityResult) -> Table:
    """Every step of a capacity search, and the highest rate that held."""
    found = capacity.highest_holding_rate
    title = (
        f"capacity: {found:,.0f}/s at p99 <= {capacity.slo_p99_ms:g} ms"
        if found is not None
        else f"capacity: no rate held at p99 <= {capacity.slo_p99_ms:g} ms"
    )
    table = Table(title=title, title_justify="left", caption_justify="left")
    for column in ("step", "rate", "throughput", "p99 ms", "errors", "verdict"):
        table.add_column(column, justify="right" if column != "verdict" else "left")
    for number, step in enumerate(capacity.steps, start=1):
        throughput = step.summary.throughput if step.summary is not None else 0.0
        verdict = "[green]holds[/]" if step.holds else "[red]fails[/]"
        table.add_row(
            str(number),
            f"{step.rate:,.0f}/s",
            f"{throughput:,.1f}/s",
            _ms(step.p99_ms),
            f"{step.error_rate:.2%}",
            verdict,
        )
    notes = _generator_notes(capacity)
    if notes:
        table.caption = Text("\n".join(notes), "yellow")
    return table


def _generator_notes(capacity: CapacityResult) -> list[str]:
    """One line per resource the generator ran short of, naming the steps (worst first)."""
    by_resource: dict[str, list[tuple[int, float, str]]] = {}
    for number, step in enumerate(capacity.steps, start=1):
        if step.summary is None:
            continue
        for finding in diagnose(step.summary):
            lag = step.summary.max_send_lag_ms
            by_resource.setdefault(finding.resource, []).append((number, lag, finding.sentence))
    notes = []
    for resource, hits in by_resource.items():
        steps = ", ".join(str(number) for number, _, _ in hits)
        worst = max(hits, key=lambda hit: hit[1])
        notes.append(f"short: {resource} at step {steps}; at step {worst[0]}, {worst[2]}")
    return notes
