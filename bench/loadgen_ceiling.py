"""The load generator's own ceiling, side by side with wrk, against a static nginx page.

A load generator that is slower than the server it loads measures itself. This
finds the highest rate our open-loop generator sustains against the cheapest
server there is (nginx serving a 1 KiB file from memory on loopback) and puts
it beside wrk's closed-loop maximum on the same page, in the same run.

Our ceiling is the highest offered rate, stepped up by 1.5x, at which the
generator still delivers at least 95% of it with no error and a p99 under
10 ms. wrk runs 64 connections on one thread (this machine has 2 cores: one
for nginx, one for the generator).

``--runs`` times (1 by default), each run wrk then our stepped search; the
JSON keeps every run and the median of each figure with the run count
(``over_runs``), and the command line, date and machine that wrote it.

    .venv/bin/python bench/loadgen_ceiling.py [--runs 1] [--step-seconds 5] [--wrk-seconds 10]
        [--json bench/results/loadgen_ceiling.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from millionscale.bench.generator import run_open_loop
from millionscale.bench.http import HttpTransport, classify_exception
from millionscale.bench.outcome import OK, Outcome
from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.servers import free_port
from millionscale.servers.process import spawn, terminate

NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    open_file_cache max=16;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location / {{ }}
    }}
}}
"""
WRK_CONNECTIONS = 64
START_RATE, FACTOR = 500.0, 1.5
P99_LIMIT_MS = 10.0
DELIVERED_SHARE = 0.95


def start_nginx(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    root.chmod(0o755)  # nginx's workers run unprivileged and must read the page
    (root / "www").mkdir(parents=True)
    (root / "www" / "index.html").write_text("x" * 1024)
    port = free_port()
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = spawn(
        [nginx, "-c", str(root / "nginx.conf"), "-p", str(root)], log_path=root / "out.log"
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            import urllib.request

            urllib.request.urlopen(f"{url}/index.html", timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nginx did not start: " + (root / "error.log").read_text())


def run_wrk(url: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", f"{url}/index.html"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise SystemExit(f"cannot read wrk's output: {out}")
    return float(found.group(1))


async def ours(url: str, rate: float, seconds: float) -> dict[str, float]:
    async with HttpTransport(url, pool_limit=WRK_CONNECTIONS) as transport:

        async def send() -> Outcome:
            try:
                answer = await transport.request("GET", "/index.html")
            except Exception as error:
                return Outcome.failed(classify_exception(error))
            return OK if answer.error is None else Outcome.failed(answer.error)

        summary = (await run_open_loop(rate, seconds, send)).summary().to_json()
    return {
        "rate": rate,
        "throughput": summary["throughput"],
        "p99_ms": summary["latency_ms"]["p99"] or float("inf"),
        "errors": sum(summary["errors"].values()),
    }


def _holds(step: dict[str, float]) -> bool:
    return bool(
        step["errors"] == 0
        and step["throughput"] >= DELIVERED_SHARE * step["rate"]
        and step["p99_ms"] <= P99_LIMIT_MS
    )


def one_run(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """wrk's maximum, then our generator stepped up until it no longer holds."""
    wrk_rps = run_wrk(url, args.wrk_seconds)
    console.print(f"wrk: {wrk_rps:,.0f} requests/s")
    steps: list[dict[str, float]] = []
    rate = START_RATE
    while rate < 200_000:
        step = asyncio.run(ours(url, rate, args.step_seconds))
        steps.append(step)
        console.print(
            f"ours at {rate:,.0f}/s: {step['throughput']:,.0f}/s delivered, "
            f"p99 {step['p99_ms']:.2f} ms, {step['errors']:.0f} errors: "
            + ("holds" if _holds(step) else "does not hold")
        )
        if not _holds(step):
            break
        rate *= FACTOR
    ceiling = max((s["throughput"] for s in steps if _holds(s)), default=0.0)
    return {"wrk_requests_per_s": wrk_rps, "ours_ceiling_requests_per_s": ceiling, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=at_least(1), default=1)
    parser.add_argument("--step-seconds", type=at_least(1, float), default=5.0)
    parser.add_argument("--wrk-seconds", type=at_least(1), default=10)
    parser.add_argument("--json", type=Path, default=Path("bench/results/loadgen_ceiling.json"))
    args = parser.parse_args()
    written_by = provenance()
    console = Console()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        nginx, url = start_nginx(Path(tmp))
        try:
            console.print(
                f"nginx on {url}; wrk {WRK_CONNECTIONS} connections, {args.wrk_seconds} s"
            )
            for number in range(1, args.runs + 1):
                console.print(f"run {number} of {args.runs}")
                runs.append(one_run(url, args, console))
        finally:
            terminate(nginx, timeout=5)
    wrk = over_runs([r["wrk_requests_per_s"] for r in runs])
    ceiling = over_runs([r["ours_ceiling_requests_per_s"] for r in runs])
    table = Table(
        title="load generator ceiling against static nginx (1 KiB page, loopback), "
        f"median of {args.runs} run{'s' if args.runs > 1 else ''}"
    )
    for column in ("tool", "model", "requests/s", "vs wrk"):
        table.add_column(column, justify="right" if column != "tool" else "left")
    table.add_row("wrk", "closed loop, 64 conns", f"{wrk['median']:,.0f}", "1.00x")
    table.add_row(
        "millionscale bench",
        "open loop, p99 <= 10 ms",
        f"{ceiling['median']:,.0f}",
        f"{ceiling['median'] / wrk['median']:.2f}x",
    )
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "loadgen_ceiling",
                **written_by,
                "cpus": written_by["machine"]["cpus"],
                "runs": args.runs,
                "wrk_requests_per_s": wrk["median"],
                "ours_ceiling_requests_per_s": ceiling["median"],
                "ratio_ours_vs_wrk": ceiling["median"] / wrk["median"],
                "over_runs": {"wrk_requests_per_s": wrk, "ours_ceiling_requests_per_s": ceiling},
                "steps": runs[0]["steps"] if len(runs) == 1 else None,
                "each_run": runs,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
