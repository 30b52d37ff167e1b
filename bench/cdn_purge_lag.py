"""How long a tag purge takes to reach every edge: a shield, two edges following it.

Three edge processes on loopback (``python -m millionscale.cdn``): a shield
(``--keep-surrogate-keys``) in front of a small origin, and two edges whose
origin is the shield and which follow its purge log (``--purge-feed``). Each
round fills every tier with ``--objects`` objects spread over ``--tags``
surrogate keys (fetched through both edges), then purges one tag at the shield
with ``"wait": true`` and records the time until the shield's answer, which
comes once both edges applied the purge, and checks through both edges that
the tag's objects are gone (a MISS each) while another tag's stay (a HIT).

    .venv/bin/python bench/cdn_purge_lag.py --rounds 20 --json bench/results/cdn_purge_lag.json

The figure is the propagation lag of a purge across two tiers on one machine
(loopback, no host limits): the cost of the protocol (a long poll answered at
once, the purge applied, the acknowledgement on the next poll), not of a network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.cdn.peers import Peer, start_edge

TOKEN = secrets.token_hex(16)


async def _origin() -> tuple[asyncio.Server, int]:
    """Answers ``/t<k>/<n>`` with a year-long, tagged body (tag ``t<k>``)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1]
                tag = target.split(b"/")[1]
                body = b"object " + target
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncache-control: public, max-age=31536000\r\n"
                    b"surrogate-key: %b all\r\ncontent-length: %d\r\n\r\n%b"
                    % (tag, len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the run is over
            return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


def _tiers(origin_port: int, work: Path) -> list[Peer]:
    shield = start_edge(
        "127.0.0.1",
        origin_port,
        work / "shield",
        memory="64MiB",
        token=TOKEN,
        extra=["--name", "shield", "--keep-surrogate-keys"],
    )
    shield.wait_ready("/t0/ready")
    port = int(shield.url.rsplit(":", 1)[1])
    edges = [
        start_edge(
            "127.0.0.1",
            port,
            work / name,
            memory="64MiB",
            token=TOKEN,
            extra=["--name", name, "--purge-feed", shield.admin],
        )
        for name in ("edge-1", "edge-2")
    ]
    for edge in edges:
        edge.wait_ready("/t0/ready")
    return [shield, *edges]


async def _round(
    client: httpx.AsyncClient, peers: list[Peer], tags: int, objects: int, n: int
) -> dict[str, Any]:
    shield, *edges = peers
    targets = [f"/t{k % tags}/{n}-{k}" for k in range(objects)]
    for edge in edges:
        await asyncio.gather(*(client.get(edge.url + t) for t in targets))
    tag = f"t{n % tags}"
    began = time.perf_counter()
    answer = await client.post(
        shield.admin + "/v1/purge",
        json={"tag": tag, "wait": True},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    lag_s = time.perf_counter() - began
    body = answer.json()
    purged = [t for t in targets if t.startswith(f"/{tag}/")]
    kept = [t for t in targets if not t.startswith(f"/{tag}/")]
    gone = kept_ok = True
    for edge in edges:
        for t in purged:
            gone &= (await client.get(edge.url + t)).headers.get_list("x-cache")[-1] == "MISS"
        for t in kept[:5]:
            kept_ok &= (await client.get(edge.url + t)).headers.get_list("x-cache")[-1] == "HIT"
    return {
        "lag_ms": lag_s * 1000,
        "purged_at_shield": body.get("purged"),
        "applied": sorted(body.get("applied", [])),
        "pending": body.get("pending", []),
        "gone_from_every_edge": gone,
        "other_tags_kept": kept_ok,
    }


async def _run(args: argparse.Namespace, work: Path, console: Console) -> dict[str, Any]:
    server, port = await _origin()
    peers = await asyncio.to_thread(_tiers, port, work)  # its waits block: the origin must run
    rounds: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("purges", total=args.rounds)
                for n in range(args.rounds):
                    rounds.append(await _round(client, peers, args.tags, args.objects, n))
                    progress.advance(task)
    finally:
        for peer in peers:
            peer.stop()
        server.close()
        await server.wait_closed()
    return {"rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=at_least(1), default=20)
    parser.add_argument("--objects", type=at_least(1), default=200)
    parser.add_argument("--tags", type=at_least(2), default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="cdn-purge-lag-") as work:
        outcome = asyncio.run(_run(args, Path(work), console))
    rounds = outcome["rounds"]
    lags = [r["lag_ms"] for r in rounds]
    complete = [r for r in rounds if r["applied"] == ["edge-1", "edge-2"] and not r["pending"]]
    result = {
        "benchmark": "cdn_purge_lag",
        **provenance(),
        "setup": {
            "tiers": "origin <- shield <- edge-1, edge-2 (following the shield's purge log)",
            "objects_per_round": args.objects,
            "tags": args.tags,
        },
        "lag_ms": over_runs(lags) | {"max": max(lags), "p90": _quantile(lags, 0.9)},
        "rounds_every_edge_applied": len(complete),
        "rounds_gone_from_every_edge": sum(r["gone_from_every_edge"] for r in rounds),
        "rounds_other_tags_kept": sum(r["other_tags_kept"] for r in rounds),
        "rounds": rounds,
    }
    console.print(
        f"tag purge at the shield, applied by both edges: median {statistics.median(lags):.1f} ms, "
        f"max {max(lags):.1f} ms over {len(lags)} rounds; every edge applied it in "
        f"{len(complete)} of {len(rounds)}, its objects gone from both in "
        f"{result['rounds_gone_from_every_edge']}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        console.print(f"written to {args.json}")
    return 0 if len(complete) == len(rounds) else 1


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    sys.exit(main())
