"""The balancer process.

    python -m millionscale.lb --port 8080 --admin-port 8081 \\
        --backend web-1=127.0.0.1:8001 --backend web-2=127.0.0.1:8002 [--policy p2c-ewma]

Public traffic on ``--port`` goes to the backends. The admin API on
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
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from millionscale.aio import run_main
from millionscale.errors import ConfigError
from millionscale.lb.http import Handler, Reply, Request, error_reply, serve
from millionscale.lb.paths import DEFAULT_PRIVATE_PATHS
from millionscale.lb.policies import POLICIES
from millionscale.lb.proxy import Balancer, parse_backend
from millionscale.obs.logging import configure_logging
from millionscale.topology.state import StateDir
from millionscale.web.bearer import bearer_matches

log = structlog.get_logger()

# Ours: on SIGTERM, requests in flight get this long to be answered (uvicorn's default
# graceful shutdown has no limit; Kubernetes gives a pod 30 s in all).
SHUTDOWN_GRACE_S = 5.0


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
        return _json(200, balancer.status())
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
        return _json(201, balancer.status())
    if len(parts) == 3 and parts[0] == "backends" and parts[2] == "drain" and method == "POST":
        return _json(200, {"result": balancer.drain(parts[1])})
    if len(parts) == 2 and parts[0] == "backends" and method == "DELETE":
        balancer.remove(parts[1])
        return _json(200, balancer.status())
    return error_reply(404, f"no admin route {method} {path}")


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
    admin = await serve(admin_handler(balancer, token), args.admin_host, args.admin_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("balancing", port=args.port, backends=len(balancer.backends), policy=args.policy)
    async with public, admin:
        await stop.wait()
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
    configure_logging(args.name)
    token = os.environ.get("LB_ADMIN_TOKEN", "")
    if not token and args.state_dir is not None:
        token = StateDir(args.state_dir).admin_token()
    if not token:
        print("error: no admin token (set LB_ADMIN_TOKEN or --state-dir)", file=sys.stderr)
        return 2
    return run_main(run(args, token))


if __name__ == "__main__":
    raise SystemExit(main())
