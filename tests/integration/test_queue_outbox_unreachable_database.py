"""A relay whose database refuses connections holds, says why, and still stops at once."""

import asyncio
import socket
import time

import pytest
from queue_support import eventually
from structlog.testing import capture_logs

from millionscale.queue import OutboxRelay

pytestmark = pytest.mark.integration

STOP_WAIT_S = 2.0  # a relay in backoff wakes for its stop event at once, not after its wait


def refused_url() -> str:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://nobody@127.0.0.1:{port}/nothing"


def test_a_step_against_a_refusing_database_holds_and_says_so():
    async def scenario():
        relay = OutboxRelay(refused_url(), broker=None)  # type: ignore[arg-type]  # never reached
        first = await relay.step()
        second = await relay.step()
        await relay.close()
        return first, second, relay.statistics()

    with capture_logs() as logs:
        first, second, statistics = asyncio.run(scenario())
    warnings = [line["event"] for line in logs if line["log_level"] == "warning"]

    assert first.held.startswith("the outbox's database failed: ")
    assert (first.published, second.published) == (0, 0)
    assert not statistics.database_up
    assert len(warnings) == 1  # one line per outage, not per try
    assert warnings[0].startswith("the outbox's database failed (")


def test_a_relay_backing_off_stops_as_soon_as_it_is_told():
    async def scenario():
        relay = OutboxRelay(
            refused_url(),
            broker=None,  # type: ignore[arg-type]
            retry_s=30.0,
            max_retry_s=30.0,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))

        async def down():
            return not relay.statistics().database_up

        await eventually(down, "the relay seeing its database down")
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, STOP_WAIT_S)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < STOP_WAIT_S
