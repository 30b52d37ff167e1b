"""The balancer process.

    python -m millionscale.lb --port 8080 --admin-port 8081 \\
        --backend web-1=127.0.0.1:8001 --backend web-2=127.0.0.1:8002 [--policy p2c-ewma]
    python -m millionscale.lb --port 8080 --admin-port 8081 \\
        --discovery file:members.json --tier web

Public traffic on ``--port`` goes to the backends: the ``--tier`` members
that ``--discovery`` names (followed as they change: added when ready,
drained when gone), or the fixed ``--backend`` list (a static discovery of
those). Every knob of :class:`~millionscale.lb.settings.BalancerSettings`
has a flag (``--help`` lists them; docs/lb.md's settings table gives their
defaults); a bad one exits 2 with one line. The admin API on
``--admin-port`` wants ``Authorization: Bearer <token>`` (the token from
``LB_ADMIN_TOKEN``, else ``--state-dir``'s ``admin-token``):

- ``GET /backends``: every backend's state, load, latency, ejection;
- ``POST /backends`` ``{"name": "web-4", "address": "127.0.0.1:8004", "weight": 1}``:
  add one (it serves once its checks pass, with slow start);
- ``POST /backends/NAME/drain``: no new requests; removed once idle;
- ``DELETE /backends/NAME``: removed at once;
- ``GET /metrics`` (Prometheus; no token), ``GET /healthz``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from millionscale.aio import run_main
from millionscale.discovery import Discovery, Member, StaticDiscovery, connect
from millionscale.errors import ConfigError, MillionscaleError
from millionscale.lb.http import Handler, Reply, Request, error_reply, serve
from millionscale.lb.proxy import Balancer, parse_backend
from millionscale.lb.settings import BalancerSettings, add_flags, from_flags
from millionscale.obs.logging import configure_logging
from millionscale.topology.state import StateDir
from millionscale.web.bearer import bearer_matches

log = structlog.get_logger()


def _json(status: int, data: Any) -> Reply:
    return Reply(status, [(b"content-type", b"application/json")], json.dumps(data).encode())


def admin_handler(balancer: Balancer, token: str) -> Handler:
    """The admin API over the same HTTP server code as the public side."""

    async def handle(request: Request) -> Reply:
        path = request.target.split(b"?", 1)[0].decode("latin-1")
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/metrics" and request.method == "GET":
            return Reply(200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], generate_latest())
        if not bearer_matches(dict(request.headers).get(b"authorization"), token):
            return error_reply(401, "missing or wrong admin token")
        try:
            return _admin(balancer, request.method, path, request.body)
        except ConfigError as error:
            return error_reply(409 if "already" in error.message else 404, error.one_line())

    return handle


def _admin(balancer: Balancer, method: str, path: str, body: bytes) -> Reply:
    parts = [p for p in path.split("/") if p]
    if parts == ["backends"] and method == "GET":
        return _json(200, balancer.statistics().to_json())
    if parts == ["backends"] and method == "POST":
        try:
            data = json.loads(body or b"{}")
            name, address = str(data["name"]), str(data["address"])
            weight = int(data.get("weight", 1))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError):
            return error_reply(422, 'the body must be {"name": ..., "address": "host:port"}')
        if not 1 <= weight <= 256:
            return error_reply(422, "weight must be 1 to 256")
        _, host, port = parse_backend(f"{name}={address}")
        balancer.add(name, host, port, weight=weight)
        return _json(201, balancer.statistics().to_json())
    if len(parts) == 3 and parts[0] == "backends" and parts[2] == "drain" and method == "POST":
        return _json(200, {"result": balancer.drain(parts[1])})
    if len(parts) == 2 and parts[0] == "backends" and method == "DELETE":
        balancer.remove(parts[1])
        return _json(200, balancer.statistics().to_json())
    return error_reply(404, f"no admin route {method} {path}")


async def run(
    settings: BalancerSettings, args: argparse.Namespace, token: str, discovery: Discovery | None
) -> None:
    balancer = Balancer(settings)
    if discovery is not None:
        await balancer.follow(discovery, args.tier)
    balancer.start()
    public = await balancer.serve(args.host, args.port, backlog=1024)
    admin = await serve(admin_handler(balancer, token), args.admin_host, args.admin_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("balancing", port=args.port, backends=len(balancer.backends), policy=settings.policy)
    async with public, admin:
        await stop.wait()
    await balancer.stop(grace_s=settings.shutdown_grace_s)


class _Parser(argparse.ArgumentParser):
    """A bad flag is one line on stderr and exit code 2 (argparse prints its usage too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


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
    parser = _Parser(
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
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--name", default="lb")
    add_flags(parser)
    args = parser.parse_args(argv)
    for port in (args.port, args.admin_port):
        if not 0 <= port <= 65535:
            parser.error(f"port {port} is not 0 to 65535")
    token = os.environ.get("LB_ADMIN_TOKEN", "")
    try:
        settings = from_flags(args)
        if not token and args.state_dir is not None:
            token = StateDir(args.state_dir).admin_token()
        if not token:
            raise ConfigError("no admin token", hint="set LB_ADMIN_TOKEN or --state-dir")
        discovery = discovery_of(args, token)
    except MillionscaleError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    configure_logging(args.name)
    return run_main(run(settings, args, token, discovery))


if __name__ == "__main__":
    raise SystemExit(main())
