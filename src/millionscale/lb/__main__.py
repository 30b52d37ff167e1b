"""The balancer process.

    python -m millionscale.lb --port 8080 --admin-port 8081 \\
        --backend web-1=127.0.0.1:8001 --backend web-2=127.0.0.1:8002 [--policy p2c-ewma]
    python -m millionscale.lb --port 8080 --admin-port 8081 \\
        --discovery file:members.json --tier web [--datacenter us-east]

Public traffic on ``--port`` goes to the backends: the ``--tier`` members
that ``--discovery`` names (followed as they change: added when ready,
drained when gone; with ``--datacenter``, those standing there only), or the fixed ``--backend`` list (a static discovery of
those). Every knob of :class:`~millionscale.lb.settings.BalancerSettings`
has a flag (``--help`` lists them; docs/lb.md's settings table gives their
defaults); a bad one exits 2 with one line. The admin API on
``--admin-port`` (:mod:`millionscale.lb.admin`: ``/backends`` to list, add,
drain and remove; open ``/healthz``, ``/readyz``, ``/metrics``) wants
``Authorization: Bearer <token>``, the token from ``LB_ADMIN_TOKEN``, else
``--state-dir``'s ``admin-token`` (read, never created: ``up`` creates it).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import structlog

from millionscale.aio import FlagParser
from millionscale.discovery import Discovery, HttpDiscovery, Member, StaticDiscovery, connect
from millionscale.errors import ConfigError
from millionscale.lb.admin import create_app
from millionscale.lb.backend import parse_backend
from millionscale.lb.balancer import Balancer
from millionscale.lb.settings import BalancerSettings, add_flags, from_flags
from millionscale.obs.admin import listen, run_admin_process, serve_app

__all__ = ["TOKEN_ENV", "discovery_of", "main"]

TOKEN_ENV = "LB_ADMIN_TOKEN"

log = structlog.get_logger()


async def run(
    settings: BalancerSettings, args: argparse.Namespace, token: str, discovery: Discovery | None
) -> None:
    balancer = Balancer(settings)
    if discovery is not None:
        await balancer.follow(discovery, args.tier, args.datacenter)
    balancer.start()
    public = await balancer.serve(args.host, args.port, backlog=1024)
    admin = listen(args.admin_host, args.admin_port, "balancer's admin API")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("balancing", port=args.port, backends=len(balancer.backends), policy=settings.policy)
    try:
        async with public:
            await serve_app(create_app(balancer, token), admin, stop=stop)
        await balancer.stop(grace_s=settings.shutdown_grace_s)
    finally:
        if isinstance(discovery, HttpDiscovery):  # its client's connections to the endpoint
            await discovery.aclose()


def discovery_of(args: argparse.Namespace, token: str | None = None) -> Discovery | None:
    """What ``--discovery`` (with the admin ``token``, for the supervisor's endpoint) or
    ``--backend`` names (ConfigError if both), or None."""
    if args.discovery is not None and args.backend:
        raise ConfigError(
            "--discovery and --backend both name the backends",
            hint="give one: a discovery source, or a fixed list",
        )
    if args.discovery is not None:
        return connect(args.discovery, token=token)
    if not args.backend:
        return None
    members = []
    for text in args.backend:
        name, host, port = parse_backend(text)
        members.append(Member(name=name, tier=args.tier, host=host, ports={"main": port}))
    return StaticDiscovery.of(members)


def main(argv: list[str] | None = None) -> int:
    parser = FlagParser(
        prog="millionscale-lb",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-host", default="127.0.0.1")
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument(
        "--backend", action="append", default=[], help="name=host:port (repeat for more)"
    )
    parser.add_argument(
        "--discovery",
        default=None,
        metavar="SOURCE",
        help="file:PATH (a snapshot file, watched) or unix:PATH (the supervisor's endpoint)",
    )
    parser.add_argument("--tier", default="web", help="the tier whose members are backends")
    parser.add_argument(
        "--datacenter",
        default=None,
        help="with --discovery: only the tier's members in this data center",
    )
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--name", default="lb")
    add_flags(parser)
    args = parser.parse_args(argv)

    def start(token: str) -> tuple[str, Coroutine[Any, Any, None]]:
        settings = from_flags(args)
        return args.name, run(settings, args, token, discovery_of(args, token))

    return run_admin_process(parser, args, TOKEN_ENV, start)


if __name__ == "__main__":
    raise SystemExit(main())
