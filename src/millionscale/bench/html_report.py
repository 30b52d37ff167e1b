"""A self-contained HTML report of load runs: latency over time, throughput, summary.

One file, no network needed to open it: the charts are PNGs drawn with
matplotlib (Agg, no display) and embedded as data URLs. Each run is a result
dictionary as :meth:`millionscale.bench.recorder.Recorder.to_json` makes it
(``rate``, ``throughput``, ``latency_ms``, ``errors``, ``timeline``).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend

__all__ = ["render_report", "write_report"]

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { margin-bottom: .25rem; } .meta { color: #6e6e73; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { padding: .3rem .8rem; border-bottom: 1px solid #e5e5ea; text-align: right; }
th:first-child, td:first-child { text-align: left; } img { max-width: 100%; }
"""


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _charts(runs: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    latency, lat_ax = plt.subplots(figsize=(9, 3.6))
    throughput, tp_ax = plt.subplots(figsize=(9, 3.0))
    for name, run in runs.items():
        points = run.get("timeline") or []
        seconds = [p["t"] for p in points]
        nan = float("nan")  # a second where nothing was timed leaves a gap, not a zero
        p99 = [nan if p["p99_ms"] is None else p["p99_ms"] for p in points]
        p50 = [nan if p["p50_ms"] is None else p["p50_ms"] for p in points]
        lat_ax.plot(seconds, p99, label=f"{name} p99")
        lat_ax.plot(seconds, p50, linestyle="--", label=f"{name} p50")
        tp_ax.plot(seconds, [p["throughput"] for p in points], label=f"{name} served/s")
        tp_ax.axhline(run["rate"], color="grey", linewidth=0.8, linestyle=":")
    lat_ax.set(title="Latency from intended send time", xlabel="seconds", ylabel="ms")
    lat_ax.set_yscale("symlog", linthresh=10)
    tp_ax.set(title="Throughput (dotted: offered rate)", xlabel="seconds", ylabel="requests/s")
    for ax in (lat_ax, tp_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    return _png(latency), _png(throughput)


def _summary_rows(runs: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for name, run in runs.items():
        latency = run["latency_ms"]
        errors = sum(run.get("errors", {}).values())
        cells = [
            html.escape(name),
            f"{run['rate']:g}",
            f"{run['throughput']:.1f}",
            *(
                f"{latency[k]:.1f}" if latency.get(k) is not None else "-"
                for k in ("p50", "p90", "p99", "p999", "max")
            ),
            str(errors),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return "\n".join(rows)


def render_report(
    title: str, runs: Mapping[str, Mapping[str, Any]], notes: Sequence[str] = ()
) -> str:
    """The HTML text of a report on ``runs`` (name -> result dictionary)."""
    latency_png, throughput_png = _charts(runs)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes_html = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "run",
            "offered/s",
            "served/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "errors",
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">{stamp}. Latency is measured from each request's intended send time (open loop, no coordinated omission).</p>
<table><thead><tr>{head}</tr></thead><tbody>
{_summary_rows(runs)}
</tbody></table>
<img alt="latency over time" src="{latency_png}">
<img alt="throughput over time" src="{throughput_png}">
<ul>{notes_html}</ul>
</body></html>
"""


def write_report(
    path: Path, title: str, runs: Mapping[str, Mapping[str, Any]], notes: Sequence[str] = ()
) -> Path:
    """Write the report to ``path`` (directories created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(title, runs, notes))
    return path
