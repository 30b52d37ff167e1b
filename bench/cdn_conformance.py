"""Our CDN edge beside Varnish 7.1 and nginx 1.22: the HTTP conformance suite, side by side.

One run, the suite of :mod:`millionscale.testing.cdn_conformance` (RFC 9111, RFC 5861,
RFC 9213, RFC 9110 ranges and conditionals; each case with its section, its
quoted requirement and its level MUST / SHOULD / MAY) against each cache in
turn, each in front of its own :class:`~millionscale.testing.ScriptedOrigin`:

- **ours**: ``python -m millionscale.cdn`` with its defaults (``--memory 256MiB``);
- **Varnish 7.1**: the builtin VCL plus RFC 5861 ``stale-if-error`` as grace,
  ``default_grace=0s`` (:data:`millionscale.cdn.peers.VARNISH_VCL`);
- **nginx 1.22**: ``proxy_cache`` with ``proxy_cache_revalidate``,
  ``proxy_cache_lock``, ``proxy_cache_background_update`` and
  ``proxy_cache_use_stale error timeout updating http_500 http_502 http_503
  http_504`` (:data:`millionscale.cdn.peers.NGINX_CACHE_CONF`).

What a peer was configured with is in :mod:`millionscale.cdn.peers`'s
docstring; nothing was tuned to pass a case. The JSON keeps, per cache, the
pass count and share overall and per level, and every case's result with the
reason of a failure; a cache that cannot be started (ours before the edge
exists, a peer not installed) is recorded as skipped with the reason.

    .venv/bin/python -m millionscale.servers.install --peers   # varnish, nginx
    .venv/bin/python bench/cdn_conformance.py [--json bench/results/cdn_conformance.json]
        [--only ours,varnish,nginx]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench.provenance import provenance
from millionscale.cdn.peers import Peer, start_edge, start_nginx_cache, start_varnish
from millionscale.errors import MillionscaleError
from millionscale.testing import ScriptedOrigin
from millionscale.testing.cdn_conformance import CASES, CaseResult, run_conformance, scripts

CACHES: dict[str, Callable[[str, int, Path], Peer]] = {
    "ours": start_edge,
    "varnish": start_varnish,
    "nginx": start_nginx_cache,
}
LEVELS = ("MUST", "SHOULD", "MAY")


def run_one(key: str, work: Path, progress: Progress) -> dict[str, Any]:
    """The suite against one cache, in front of its own scripted origin."""
    task = progress.add_task(f"{key}", total=len(CASES))
    with ScriptedOrigin(scripts()) as origin:
        try:
            peer = CACHES[key]("127.0.0.1", origin.port, work / key)
        except MillionscaleError as error:
            return {"skipped": error.one_line()}
        try:
            peer.wait_ready()
            started = time.monotonic()
            results = run_conformance(peer.url, origin, on_result=lambda _: progress.advance(task))
            seconds = time.monotonic() - started
        except MillionscaleError as error:
            return {"skipped": error.one_line()}
        finally:
            peer.stop()
    return summarise(peer, results, seconds)


def summarise(peer: Peer, results: list[CaseResult], seconds: float) -> dict[str, Any]:
    passed = sum(r.passed for r in results)
    by_level = {}
    for level in LEVELS:
        of_level = [r for r in results if r.level == level]
        by_level[level] = {
            "passed": sum(r.passed for r in of_level),
            "cases": len(of_level),
            "share": sum(r.passed for r in of_level) / len(of_level) if of_level else None,
        }
    return {
        "name": peer.name,
        "command": peer.argv,
        "seconds": seconds,
        "passed": passed,
        "cases": len(results),
        "share": passed / len(results),
        "by_level": by_level,
        "results": {
            r.name: {
                "passed": r.passed,
                "level": r.level,
                "section": r.section,
                "reason": r.reason,
                "seconds": round(r.seconds, 3),
            }
            for r in results
        },
    }


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, default=Path("bench/results/cdn_conformance.json"))
    parser.add_argument(
        "--only", default=",".join(CACHES), help="comma-separated: ours,varnish,nginx"
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in CACHES]
    if unknown or not args.only:
        parser.error(f"--only takes some of {', '.join(CACHES)}; got {args.only}")
    return args


def main() -> None:
    args = parse_arguments()
    written_by = provenance()
    # SIGTERM unwinds like Ctrl-C, so that the caches started are stopped (by pid) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = Console() if sys.stdout.isatty() else Console(width=140)
    caches: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        for key in args.only:
            caches[key] = run_one(key, Path(tmp), progress)
            done = caches[key]
            if "skipped" in done:
                progress.console.print(f"[yellow]{key} skipped: {done['skipped']}")
            else:
                progress.console.print(
                    f"{done['name']}: {done['passed']}/{done['cases']} in {done['seconds']:.1f} s"
                )

    ran = {key: data for key, data in caches.items() if "skipped" not in data}
    table = Table(title=f"HTTP conformance of shared caches ({len(CASES)} cases)")
    table.add_column("case")
    table.add_column("section")
    table.add_column("level")
    for data in ran.values():
        table.add_column(data["name"], justify="center")
    for case in CASES:
        marks = [
            "[green]pass[/]" if data["results"][case.name]["passed"] else "[red]FAIL[/]"
            for data in ran.values()
        ]
        table.add_row(case.name, case.section, case.level, *marks)
    table.add_section()
    for level in LEVELS:
        table.add_row(
            f"{level} cases passed",
            "",
            "",
            *(
                f"{d['by_level'][level]['passed']}/{d['by_level'][level]['cases']}"
                for d in ran.values()
            ),
        )
    table.add_row(
        "all cases passed",
        "",
        "",
        *(f"{d['passed']}/{d['cases']} ({d['share']:.0%})" for d in ran.values()),
    )
    console.print(table)
    for data in ran.values():
        failed = [(name, r) for name, r in data["results"].items() if not r["passed"]]
        if failed:
            console.print(f"[bold]{data['name']}[/] failed:")
            for name, result in failed:
                console.print(f"  {result['level']:6} {name}: {result['reason']}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "cdn_conformance",
                **written_by,
                "cases": [
                    {
                        "name": c.name,
                        "title": c.title,
                        "section": c.section,
                        "level": c.level,
                        "requirement": c.requirement,
                    }
                    for c in CASES
                ],
                "passed": {d["name"]: d["passed"] for d in ran.values()},
                "share": {d["name"]: d["share"] for d in ran.values()},
                "caches": caches,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()
