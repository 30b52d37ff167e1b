"""The edge process.

    python -m millionscale.cdn --origin http://127.0.0.1:8000 --port 8080 --admin-port 8081 \\
        [--name edge-1] [--memory 256MiB] [--disk 1GiB --spill-dir D] [--stale-if-error 300] \\
        [--keep-surrogate-keys] [--purge-feed http://SHIELD:ADMIN_PORT] [--state-dir .millionscale]

Clients on ``--port`` get the edge's cache (:mod:`millionscale.cdn.edge`) in
front of ``--origin`` (an origin, or the shield: another edge, started with
``--keep-surrogate-keys``). The admin API on ``--admin-port``
(:mod:`millionscale.cdn.admin`: ``POST /v1/purge``, ``GET /v1/statistics``;
open ``/healthz``, ``/readyz``, ``/metrics``) wants ``Authorization: Bearer
<token>``, the token from ``CDN_ADMIN_TOKEN``, else ``--state-dir``'s
``admin-token``. Purges made here are logged for the edges below, and with
``--purge-feed`` (the shield's admin API) this edge follows its upstream's
purges (:mod:`millionscale.cdn.feed`): it listens for clients only once it
follows (at most :data:`CONTACT_S` after it starts), so that no purge made
upstream meanwhile is missed. A bad flag exits 2 with one line; SIGTERM stops
it, requests in flight getting ``--shutdown-grace-s``. Logs are JSON lines on
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from millionscale.aio import FlagParser
from millionscale.cdn.admin import create_app
from millionscale.cdn.edge import Edge
from millionscale.cdn.feed import FOLLOW_WAIT_S, Entry, PurgeFeed, PurgeLog, follow
from millionscale.cdn.purge import Purge
from millionscale.cdn.settings import EdgeSettings, add_flags, from_flags
from millionscale.obs.admin import listen, run_admin_process, serve_app

__all__ = ["TOKEN_ENV", "main"]

TOKEN_ENV = "CDN_ADMIN_TOKEN"
CONTACT_S = 10.0  # ours: how long an edge waits to follow its upstream's purges before serving


@dataclass(frozen=True, slots=True)
class _Following:
    """An edge following its upstream's purge log: the loop's ``task``, set
    ``contacted`` once the upstream first answered, and the ``client`` it asks with."""

    task: asyncio.Task[None]
    contacted: asyncio.Event
    client: httpx.AsyncClient

    async def aclose(self) -> None:
        """Stop following and close the client."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.aclose()


def _follower(
    edge: Edge, feed: PurgeFeed, upstream: str, token: str, stop: asyncio.Event
) -> _Following:
    """Follow ``upstream``'s purge log: each purge applied here and logged for below."""
    client = httpx.AsyncClient(
        base_url=upstream.rstrip("/"),
        headers={"authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(FOLLOW_WAIT_S + 10.0, connect=2.0),
    )
    contacted = asyncio.Event()

    async def fetch(after: int, epoch: str | None) -> object:
        params: dict[str, str | int | float] = {
            "after": after,
            "follower": edge.settings.name,
            "wait_s": FOLLOW_WAIT_S if epoch is not None else 0,
        }
        if epoch is not None:
            params["epoch"] = epoch
        answer = await client.get("/v1/purges", params=params)
        answer.raise_for_status()
        return answer.json()

    async def apply(entry: Entry) -> None:
        edge.apply(entry.purge, issued_at=entry.issued_at)
        await feed.publish(entry)

    async def on_gap() -> None:
        await apply(Entry(Purge.everything(soft=True), time.time()))

    task = asyncio.get_running_loop().create_task(
        follow(fetch, apply, on_gap=on_gap, stop=stop, contacted=contacted)
    )
    return _Following(task, contacted, client)


log = structlog.get_logger()


async def run(settings: EdgeSettings, args: argparse.Namespace, token: str) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per origin fetch
    admin = listen(args.admin_host, args.admin_port, "edge's admin API")
    edge = Edge(settings)
    edge.start()
    feed = PurgeFeed(PurgeLog(edge.clock))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    following = None
    if args.purge_feed:
        following = _follower(edge, feed, args.purge_feed, token, stop)
        try:
            await asyncio.wait_for(following.contacted.wait(), CONTACT_S)
        except TimeoutError:
            log.warning(
                "cdn: upstream's purge log not reached; serving anyway", feed=args.purge_feed
            )
    public = await edge.serve(args.host, args.port)
    log.info("caching", port=args.port, origin=settings.origin, name=settings.name)

    async def close_feed_on_stop() -> None:
        await stop.wait()
        await feed.close()  # the long polls answer: the graceful shutdown waits for them

    closing = asyncio.create_task(close_feed_on_stop())
    try:
        async with public:
            await serve_app(create_app(edge, token, feed), admin, stop=stop)
    finally:
        closing.cancel()
        if following is not None:
            await following.aclose()
    await edge.stop()
    log.info("stopped", name=settings.name)


def main(argv: list[str] | None = None) -> int:
    parser = FlagParser(
        prog="millionscale-cdn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-host", default="127.0.0.1")
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument(
        "--purge-feed", default=None, help="http://HOST:ADMIN_PORT of the upstream edge to follow"
    )
    add_flags(parser)
    args = parser.parse_args(argv)
    if args.purge_feed is not None:
        feed = urlsplit(args.purge_feed)
        if feed.scheme != "http" or not feed.hostname or feed.path not in ("", "/"):
            parser.error(f"--purge-feed {args.purge_feed!r} is not http://HOST:PORT")

    def start(token: str) -> tuple[str, Coroutine[Any, Any, None]]:
        settings = from_flags(args)
        return settings.name, run(settings, args, token)

    return run_admin_process(parser, args, TOKEN_ENV, start)


if __name__ == "__main__":
    raise SystemExit(main())
