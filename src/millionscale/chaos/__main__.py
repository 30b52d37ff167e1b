"""The fault proxy as a process.

    python -m millionscale.chaos --listen 15432 --upstream 127.0.0.1:5432 \\
        [--admin-port 15433] [--fault latency_ms=50 --fault downstream.bytes_per_s=1e5]

Connections to ``--listen`` (on ``--host``, loopback by default) are carried
to ``--upstream`` with the faults given by ``--fault KEY=VALUE`` (keys in
docs/chaos.md). With ``--admin-port`` an HTTP admin API changes them at run
time (:mod:`millionscale.chaos.admin`); it wants ``Authorization: Bearer
<token>``, the token from ``CHAOS_ADMIN_TOKEN``, else ``--state-dir``'s
``admin-token``. Bad arguments exit with code 2 and one line saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from millionscale.aio import run_main
from millionscale.chaos.admin import create_app
from millionscale.chaos.faults import Faults
from millionscale.chaos.proxy import FaultProxy, parse_address
from millionscale.chaos.spec import parse_assignments, parse_faults
from millionscale.errors import ConfigError, MillionscaleError
from millionscale.obs.logging import configure_logging
from millionscale.topology.state import StateDir

__all__ = ["TOKEN_ENV", "main"]

TOKEN_ENV = "CHAOS_ADMIN_TOKEN"

log = structlog.get_logger()


class _AdminServer(uvicorn.Server):
    """uvicorn inside our event loop; our signal handlers, not its, stop the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port (0 to 65535)")
    return int(text)


def _upstream(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(error.one_line()) from None


def _bind(host: str, port: int, what: str) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise ConfigError(f"cannot use {host}:{port} for the {what}: {error}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} for the {what}: {error.strerror or error}",
            hint="choose another port",
        ) from None
    return sock


async def serve(args: argparse.Namespace, faults: Faults, token: str) -> None:
    """Run the proxy (and its admin API) until SIGTERM or SIGINT."""
    proxy = FaultProxy(
        args.upstream,
        host=args.host,
        port=args.listen,
        faults=faults,
        rng=random.Random(args.seed),
        name=args.name,
    )
    admin_socket = None
    if args.admin_port is not None:
        admin_socket = _bind(args.admin_host, args.admin_port, "admin API")
    try:
        await proxy.start()
    except OSError as error:
        if admin_socket is not None:
            admin_socket.close()
        raise ConfigError(
            f"cannot listen on {args.host}:{args.listen}: {error.strerror or error}",
            hint="choose another --listen port",
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waits: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
    admin: _AdminServer | None = None
    if admin_socket is not None:
        config = uvicorn.Config(
            create_app(proxy, token), log_config=None, access_log=False, lifespan="off"
        )
        admin = _AdminServer(config)
        waits.append(asyncio.create_task(admin.serve(sockets=[admin_socket])))
        log.info(f"admin API on {args.admin_host}:{args.admin_port}")
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if admin is not None:
            admin.should_exit = True
        await asyncio.gather(*waits[1:], return_exceptions=True)
        waits[0].cancel()
        await proxy.stop()
        log.info(f"proxy {args.name} stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m millionscale.chaos", description=__doc__)
    parser.add_argument("--listen", type=_port, required=True, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--upstream", type=_upstream, required=True, help="HOST:PORT")
    parser.add_argument("--admin-port", type=_port, default=None)
    parser.add_argument("--admin-host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path, default=None, help="where admin-token is")
    parser.add_argument("--fault", action="append", default=[], help="KEY=VALUE, repeatable")
    parser.add_argument("--seed", type=int, default=None, help="for repeatable random faults")
    parser.add_argument("--name", default="chaos", help="process name for the logs")
    args = parser.parse_args(argv)
    try:
        faults = parse_faults(parse_assignments(args.fault))
        token = ""
        if args.admin_port is not None:
            token = os.environ.get(TOKEN_ENV, "").strip()
            if not token and args.state_dir is not None:
                token = StateDir(args.state_dir).admin_token()
            if not token:
                raise ConfigError(
                    "the admin API needs a token", hint=f"set {TOKEN_ENV} or --state-dir"
                )
    except (MillionscaleError, OSError) as error:
        reason = error.one_line() if isinstance(error, MillionscaleError) else str(error)
        print(f"error: {reason}", file=sys.stderr)
        return 2
    configure_logging(args.name)
    return run_main(serve(args, faults, token))


if __name__ == "__main__":
    raise SystemExit(main())
