"""The edge process.

    python -m millionscale.cdn --origin http://127.0.0.1:8000 --port 8080 --admin-port 8081 \\
        [--name edge-1] [--memory 256MiB] [--disk 1GiB --spill-dir D] [--stale-if-error 300] \\
        [--keep-surrogate-keys] [--state-dir .millionscale]

Clients on ``--port`` get the edge's cache (:mod:`millionscale.cdn.edge`) in
front of ``--origin`` (an origin, or the shield: another edge, started with
``--keep-surrogate-keys``). The admin API on ``--admin-port``
(:mod:`millionscale.cdn.admin`: ``POST /v1/purge``, ``GET /v1/statistics``;
open ``/healthz``, ``/readyz``, ``/metrics``) wants ``Authorization: Bearer
<token>``, the token from ``CDN_ADMIN_TOKEN``, else ``--state-dir``'s
``admin-token``. A bad flag exits 2 with one line; SIGTERM stops it, requests
in flight getting ``--shutdown-grace-s``. Logs are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import NoReturn

import structlog

from millionscale.aio import run_main
from millionscale.cdn.admin import create_app
from millionscale.cdn.edge import Edge
from millionscale.cdn.settings import EdgeSettings, add_flags, from_flags
from millionscale.errors import MillionscaleError
from millionscale.obs.admin import listen, load_token, serve_app, token_file
from millionscale.obs.logging import configure_logging

__all__ = ["TOKEN_ENV", "main"]

TOKEN_ENV = "CDN_ADMIN_TOKEN"

log = structlog.get_logger()


async def run(settings: EdgeSettings, args: argparse.Namespace, token: str) -> None:
    admin = listen(args.admin_host, args.admin_port, "edge's admin API")
    edge = Edge(settings)
    edge.start()
    public = await edge.serve(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("caching", port=args.port, origin=settings.origin, name=settings.name)
    async with public:
        await serve_app(create_app(edge, token), admin, stop=stop)
    await edge.stop()
    log.info("stopped", name=settings.name)


class _Parser(argparse.ArgumentParser):
    """A bad flag is one line on stderr and exit code 2 (argparse prints its usage too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="millionscale-cdn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-host", default="127.0.0.1")
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, default=None)
    add_flags(parser)
    args = parser.parse_args(argv)
    for port in (args.port, args.admin_port):
        if not 0 <= port <= 65535:
            parser.error(f"port {port} is not 0 to 65535")
    try:
        settings = from_flags(args)
        token = load_token(TOKEN_ENV, token_file(args.state_dir))
    except MillionscaleError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    configure_logging(settings.name)
    return run_main(run(settings, args, token))


if __name__ == "__main__":
    raise SystemExit(main())
