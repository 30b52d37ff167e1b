"""The GeoDNS server process.

    python -m millionscale.geodns --zone FILE [--geoip FILE.mmdb|FILE.toml] \\
        [--address DC=IP[,IP...]] [--check DC=URL] \\
        [--host 127.0.0.1] [--port 5353] [--admin-host 127.0.0.1 --admin-port 0] \\
        [--name geodns]

Serves the zone in ``--zone`` (docs/geodns.md) over UDP and TCP on ``--port``,
locating clients with the MaxMind DB ``--geoip`` (none: every service answers
from its ``default`` list; a ``.toml`` file lists networks, written to a
database at start: :func:`millionscale.geodns.geoip.load_networks`), and checks
every data center's ``check`` URL (:mod:`millionscale.geodns.checker`).
``--address`` and ``--check`` (repeatable) set a data center's addresses and
check over the zone file's: a topology knows them only once it runs. ``--admin-port`` serves ``/healthz``,
``/readyz`` (ready once listening) and ``/metrics``. SIGTERM or SIGINT stops it.
A bad flag or zone file exits 2 with one line; logs are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import REGISTRY

from millionscale.aio import FlagParser
from millionscale.geodns.authority import Authority
from millionscale.geodns.checker import DataCenterHealth, check_forever, detection_bound_s
from millionscale.geodns.geoip import open_locator
from millionscale.geodns.locate import MaxMindLocator
from millionscale.geodns.metrics import GeoDnsCollector
from millionscale.geodns.server import DnsServer
from millionscale.geodns.zone import Zone, load_zone
from millionscale.obs.admin import admin_app, listen, run_admin_process, serve_app

__all__ = ["main"]

PORT = 5353  # unprivileged; a data center's resolver would be told port 53
log = structlog.get_logger()


async def run(args: argparse.Namespace, zone: Zone, locator: MaxMindLocator | None) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per check
    admin = listen(args.admin_host, args.admin_port, "GeoDNS server's health and metrics")
    authority = Authority(zone, locator)
    server = DnsServer(authority, args.host, args.port)
    await server.start()
    REGISTRY.register(GeoDnsCollector(server))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = DataCenterHealth(zone.datacenters, now=time.monotonic())
    log.info(
        f"serving {zone.origin} on {server.host}:{server.port} (UDP and TCP)",
        datacenters=sorted(zone.datacenters),
        geoip=str(args.geoip) if args.geoip else None,
        failover_within_s=detection_bound_s(),
    )
    try:
        app = admin_app([], token="")  # health and metrics only: no guarded route
        await asyncio.gather(
            check_forever(authority, health, stop), serve_app(app, admin, stop=stop)
        )
    finally:
        await server.close()
        if locator is not None:
            locator.close()
        stats = authority.statistics()
        log.info("stopped", queries=stats.queries, rcodes=dict(stats.rcodes))


def _placed(key: str) -> Callable[[str], tuple[str, str, object]]:
    """A ``DC=VALUE`` flag as ``(dc, key, value)``; addresses are a comma-separated list."""

    def parse(text: str) -> tuple[str, str, object]:
        name, equals, value = text.partition("=")
        if not equals or not name or not value:
            raise argparse.ArgumentTypeError(f"{text[:60]!r} is not DC=VALUE")
        return name, key, value.split(",") if key == "addresses" else value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = FlagParser(
        prog="millionscale-geodns",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--zone", type=Path, required=True, help="the zone file (TOML)")
    parser.add_argument(
        "--geoip", type=Path, default=None, help="a MaxMind DB file (.mmdb), or networks (.toml)"
    )
    parser.add_argument(
        "--address",
        type=_placed("addresses"),
        action="append",
        default=[],
        metavar="DC=IP[,IP...]",
        help="a data center's addresses, over the zone file's",
    )
    parser.add_argument(
        "--check",
        type=_placed("check"),
        action="append",
        default=[],
        metavar="DC=URL",
        help="a data center's check URL, over the zone file's",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--admin-host", default="127.0.0.1")
    parser.add_argument("--admin-port", type=int, default=0)
    parser.add_argument("--name", default="geodns")
    args = parser.parse_args(argv)

    def start(_token: str) -> tuple[str, Coroutine[Any, Any, None]]:
        placed: dict[str, dict[str, object]] = {}
        for name, key, value in [*args.address, *args.check]:
            placed.setdefault(name, {})[key] = value
        zone = load_zone(args.zone, placed)  # ZoneError: one line, exit 2
        return args.name, run(args, zone, open_locator(args.geoip))

    return run_admin_process(parser, args, None, start)


if __name__ == "__main__":
    raise SystemExit(main())
