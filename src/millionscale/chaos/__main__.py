"""The fault proxy as a process.

    python -m millionscale.chaos --listen 15432 --upstream 127.0.0.1:5432 \\
        [--admin-port 15433] [--fault latency_ms=50 --fault downstream.bytes_per_s=1e5]

Connections to ``--listen`` (on ``--host``, loopback by default) are carried
to ``--upstream`` with the faults given by ``--fault KEY=VALUE`` (keys in
docs/chaos.md). With ``--admin-port`` an HTTP admin API changes them at run
time (:mod:`millionscale.chaos.admin`), hosted as every admin API is
(:mod:`millionscale.obs.admin`); it wants ``Authorization: Bearer <token>``,
the token from ``CHAOS_ADMIN_TOKEN``, else ``--state-dir``'s ``admin-token``
(read, never created: ``up`` creates it). Bad arguments exit with code 2 and one line saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
from pathlib import Path

import structlog

from millionscale.aio import run_main
from millionscale.chaos.admin import create_app
from millionscale.chaos.faults import Faults
from millionscale.chaos.proxy import FaultProxy, parse_address
from millionscale.chaos.spec import parse_assignments, parse_faults
from millionscale.errors import ConfigError, MillionscaleError
from millionscale.obs.admin import listen, load_token, serve_app, token_file
from millionscale.obs.logging import configure_logging

__all__ = ["TOKEN_ENV", "main"]

TOKEN_ENV = "CHAOS_ADMIN_TOKEN"

log = structlog.get_logger()


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port (0 to 65535)")
    return int(text)


def _upstream(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(error.one_line()) from None


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
        admin_socket = listen(args.admin_host, args.admin_port, "admin API")
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
    try:
        if admin_socket is not None:
            log.info(f"admin API on {args.admin_host}:{args.admin_port}")
            await serve_app(create_app(proxy, token), admin_socket, stop=stop)
        else:
            await stop.wait()
    finally:
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
            token = load_token(TOKEN_ENV, token_file(args.state_dir))
    except (MillionscaleError, OSError) as error:
        reason = error.one_line() if isinstance(error, MillionscaleError) else str(error)
        print(f"error: {reason}", file=sys.stderr)
        return 2
    configure_logging(args.name)
    return run_main(serve(args, faults, token))


if __name__ == "__main__":
    raise SystemExit(main())
