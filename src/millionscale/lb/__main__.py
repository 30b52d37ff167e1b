"""The balancer process.

    python -m millionscale.lb --port 8080 --admin-port 8081 \\
        --backend web-1=127.0.0.1:8001 --backend web-2=127.0.0.1:8002 [--policy p2c-ewma]

Public traffic on ``--port`` goes to the backends. The admin API on
``--admin-port`` (:mod:`millionscale.lb.admin`: ``/backends`` to list, add,
drain and remove; open ``/healthz``, ``/readyz``, ``/metrics``) wants
``Authorization: Bearer <token>``, the token from ``LB_ADMIN_TOKEN``, else
``--state-dir``'s ``admin-token`` (read, never created: ``up`` creates it).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import structlog

from millionscale.aio import run_main
from millionscale.errors import ConfigError
from millionscale.lb.admin import create_app
from millionscale.lb.paths import DEFAULT_PRIVATE_PATHS
from millionscale.lb.policies import POLICIES
from millionscale.lb.proxy import Balancer, parse_backend
from millionscale.obs.admin import listen, load_token, serve_app
from millionscale.obs.logging import configure_logging
from millionscale.topology.state import StateDir

__all__ = ["TOKEN_ENV", "main"]

log = structlog.get_logger()

TOKEN_ENV = "LB_ADMIN_TOKEN"

# Ours: on SIGTERM, requests in flight get this long to be answered (uvicorn's default
# graceful shutdown has no limit; Kubernetes gives a pod 30 s in all).
SHUTDOWN_GRACE_S = 5.0


async def run(args: argparse.Namespace, token: str) -> None:
    balancer = Balancer(
        policy=args.policy,
        hash_header=args.hash_header,
        private_paths=tuple(args.private_path or DEFAULT_PRIVATE_PATHS),
    )
    for text in args.backend:
        name, host, port = parse_backend(text)
        balancer.add(name, host, port, initial=True)
    balancer.start()
    public = await balancer.serve(args.host, args.port, backlog=1024)
    admin = listen(args.admin_host, args.admin_port, "balancer's admin API")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("balancing", port=args.port, backends=len(balancer.backends), policy=args.policy)
    async with public:
        await serve_app(create_app(balancer, token), admin, stop=stop)
    await balancer.stop(grace_s=SHUTDOWN_GRACE_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="millionscale-lb", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-host", default="127.0.0.1")
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--backend", action="append", default=[], help="name=host:port")
    parser.add_argument("--policy", default="p2c-ewma", choices=sorted(POLICIES))
    parser.add_argument("--hash-header", default=None, help="for --policy consistent-hash")
    parser.add_argument(
        "--private-path",
        action="append",
        default=None,
        help="answered 404 and never forwarded, however spelled (default: /metrics; "
        "repeat for more; '' forwards everything)",
    )
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--name", default="lb")
    args = parser.parse_args(argv)
    try:
        token_file = None if args.state_dir is None else StateDir(args.state_dir).admin_token_file
        token = load_token(TOKEN_ENV, token_file)
    except ConfigError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    configure_logging(args.name)
    return run_main(run(args, token))


if __name__ == "__main__":
    raise SystemExit(main())
