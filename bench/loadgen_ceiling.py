"""The load generator's own ceiling, side by side with wrk, against a static nginx page.

A load generator that is slower than the server it loads measures itself. This
finds the highest rate our open-loop generator sustains against the cheapest
server there is (nginx serving a 1 KiB file from memory on loopback) and puts
it beside wrk's closed-loop maximum on the same page, in the same run.

Our ceiling is the highest offered rate, stepped up by 1.5x, at which the
generator still delivers at least 95% of it with no error and a p99 under
10 ms. wrk runs 64 connections on one thread (this machine has 2 cores: one
for nginx, one for the generator).

    .venv/bin/python bench/loadgen_ceiling.py [--step-seconds 5] [--json bench/results/loadgen_ceiling.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from millionscale.bench.generator import run_open_loop
from millionscale.bench.http import HttpTransport, classify_exception
from millionscale.bench.outcome import OK, Outcome
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--json", type=Path, default=Path("bench/results/loadgen_ceiling.json"))
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        nginx, url = start_nginx(Path(tmp))
        try:
            console.print(
                f"nginx on {url}; wrk {WRK_CONNECTIONS} connections, {args.wrk_seconds} s"
            )
            wrk_rps = run_wrk(url, args.wrk_seconds)
            console.print(f"wrk: {wrk_rps:,.0f} requests/s")
            steps: list[dict[str, float]] = []
            rate = START_RATE
            while rate < 200_000:
                step = asyncio.run(ours(url, rate, args.step_seconds))
                steps.append(step)
                held = (
                    step["errors"] == 0
                    and step["throughput"] >= DELIVERED_SHARE * rate
                    and step["p99_ms"] <= P99_LIMIT_MS
                )
                console.print(
                    f"ours at {rate:,.0f}/s: {step['throughput']:,.0f}/s delivered, "
                    f"p99 {step['p99_ms']:.2f} ms, {step['errors']:.0f} errors: "
                    + ("holds" if held else "does not hold")
                )
                if not held:
                    break
                rate *= FACTOR
        finally:
            terminate(nginx, timeout=5)
    held_steps = [
        s
        for s in steps
        if s["errors"] == 0
        and s["throughput"] >= DELIVERED_SHARE * s["rate"]
        and s["p99_ms"] <= P99_LIMIT_MS
    ]
    ceiling = max((s["throughput"] for s in held_steps), default=0.0)
    table = Table(title="load generator ceiling against static nginx (1 KiB page, loopback)")
    for column in ("tool", "model", "requests/s", "vs wrk"):
        table.add_column(column, justify="right" if column != "tool" else "left")
    table.add_row("wrk", "closed loop, 64 conns", f"{wrk_rps:,.0f}", "1.00x")
    table.add_row(
        "millionscale bench",
        "open loop, p99 <= 10 ms",
        f"{ceiling:,.0f}",
        f"{ceiling / wrk_rps:.2f}x",
    )
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "loadgen_ceiling",
                "cpus": os.cpu_count(),
                "wrk_requests_per_s": wrk_rps,
                "ours_ceiling_requests_per_s": ceiling,
                "ratio_ours_vs_wrk": ceiling / wrk_rps,
                "steps": steps,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
