"""Following a source: the latest view as it changes, and the last one kept through outages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import structlog

from millionscale.discovery._protocol import Discovery
from millionscale.discovery._snapshot import Snapshot
from millionscale.errors import DiscoveryError

__all__ = ["follow"]

log = structlog.get_logger()


async def follow(
    discovery: Discovery, first: Snapshot, *, every_s: float
) -> AsyncGenerator[Snapshot, None]:
    """The newest snapshot after ``first``: as soon as the source has a newer one,
    and at least every ``every_s`` seconds (the same one again when nothing changed),
    for a reader whose own state moves between snapshots (a drained backend that
    finished, a node that came back).

    Never raises for the source: a :class:`~millionscale.errors.DiscoveryError`
    inside ``watch()`` is logged and the watch is tried again ``every_s`` later,
    the last view still yielded meanwhile. A source that closes leaves its last
    view standing, yielded every ``every_s``; it ends only when the caller stops.
    """
    if every_s <= 0:
        raise ValueError(f"every_s must be > 0, not {every_s}")
    latest = first
    changed = asyncio.Event()

    async def watch() -> None:
        nonlocal latest
        while True:
            try:
                async for snapshot in discovery.watch(latest.version):
                    latest = snapshot
                    changed.set()
                return  # the source was closed: the last view stands
            except DiscoveryError as error:
                log.warning(f"discovery: {error.one_line()}; keeping the last view")
                await asyncio.sleep(every_s)

    watcher = asyncio.create_task(watch(), name="discovery-follow")
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every_s):
                    await changed.wait()
            changed.clear()
            yield latest
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
