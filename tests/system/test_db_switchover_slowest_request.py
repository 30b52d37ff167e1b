"""A planned switchover under load stalls no request for a second, and loses no write.

The replicated stage, with sessions writing through the router, reading their
own writes back and reading the primary (``Strong``), as the photo app does,
in a bounded loop; halfway, ``millionscale db switchover``. The monitor drains
the primary, lets the target replay, shuts the old primary down cleanly (no
kill), promotes and re-points; the routers find the new primary at their next
poll. Every request is timed from its start to its answer.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from conftest import Cli, postgres_urls
from millionscale.db import Router, Session, Strong
from millionscale.db.testing import ACKS_TABLE, missing_writes
from millionscale.testing import wait_ready
from millionscale.topology.state import StateDir

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "replicated.toml"
SESSIONS = 8
SLOWEST_S = 1.0  # the goal: a planned switchover stalls no request for a second
LOAD_BEFORE_S = 1.5  # load before the switchover is asked for
LOAD_AFTER_S = 2.0  # and after it returned, on the new primary
MAX_LOAD_S = 60.0  # the loop's hard bound, whatever happens
PAUSE_S = 0.005  # between one session's requests


@dataclass
class Timings:
    """Every request: what it was, when it started (monotonic), how long it took."""

    requests: list[tuple[str, float, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)
    unread: list[int] = field(default_factory=list)

    def slowest(self) -> tuple[str, float, float]:
        return max(self.requests, key=lambda r: r[2])


def roles(cli: Cli) -> dict[str, str]:
    result = cli.run("db", "status", "--json")
    assert result.returncode == 0, result.stderr
    return {node["name"]: node["role"] for node in json.loads(result.stdout)["nodes"]}


async def _insert(row_id: int, number: int, conn) -> None:
    await conn.execute("INSERT INTO acks VALUES (%s, %s)", (row_id, number))


async def _seen(row_id: int, conn) -> object:
    return await (await conn.execute("SELECT 1 FROM acks WHERE id = %s", (row_id,))).fetchone()


async def _count(conn) -> int:
    return (await (await conn.execute("SELECT count(*) FROM acks")).fetchone())[0]


async def load_across_switchover(cli: Cli) -> tuple[Timings, float, float, str, str]:
    dsns = postgres_urls(cli)
    replicas = {name: url for name, url in dsns.items() if name != "db"}
    timings = Timings()
    ids = itertools.count(1)
    stop = asyncio.Event()
    async with Router(dsns["db"], replicas, primary_name="db") as router:  # the app's defaults
        await router.run_write(lambda conn: conn.execute(ACKS_TABLE))

        async def timed(kind: str, request: Awaitable[object]) -> tuple[bool, object]:
            started = time.monotonic()
            try:
                return True, await request
            except Exception as error:  # every failure is the test's to count
                timings.failures.append(f"{kind}: {type(error).__name__}: {error}")
                return False, None
            finally:
                timings.requests.append((kind, started, time.monotonic() - started))

        async def user(number: int) -> None:
            session = Session()
            deadline = time.monotonic() + MAX_LOAD_S
            while not stop.is_set() and time.monotonic() < deadline:
                row_id = next(ids)
                insert, seen = (
                    functools.partial(_insert, row_id, number),
                    functools.partial(_seen, row_id),
                )
                written, _ = await timed("write", router.run_write(insert, session))
                if written:
                    timings.acked.add(row_id)
                    read, row = await timed("read-your-writes read", router.run_read(seen, session))
                    if read and row is None:
                        timings.unread.append(row_id)
                await timed("strong read", router.run_read(_count, consistency=Strong()))
                await asyncio.sleep(PAUSE_S)

        users = asyncio.gather(*(user(n) for n in range(SESSIONS)))
        await asyncio.sleep(LOAD_BEFORE_S)
        asked = time.monotonic()
        result = await asyncio.to_thread(cli.run, "db", "switchover", "--to", "db-r1")
        answered = time.monotonic()
        assert result.returncode == 0, result.stderr
        await asyncio.sleep(LOAD_AFTER_S)
        stop.set()
        await users
        primary = router.primary
    return timings, asked, answered, primary, dsns[primary]


def test_a_planned_switchover_under_load_stalls_no_request_for_a_second(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0

    timings, asked, answered, primary, primary_url = asyncio.run(load_across_switchover(cli))

    kind, started, took = timings.slowest()
    assert primary == "db-r1"
    assert timings.failures == []
    assert len(timings.requests) > 300  # it was under load
    assert took < SLOWEST_S, (
        f"slowest: a {kind} that started {started - asked:+.3f} s from the switchover request "
        f"(answered after {answered - asked:.3f} s) took {took:.3f} s"
    )
    assert missing_writes(primary_url, timings.acked) == set()
    assert timings.unread == []
    monitor = (cli.state_dir / "logs" / "db-monitor.log").read_text()
    assert "shut down db cleanly" in monitor
    assert "fenced db" not in monitor
    # The old primary, shut down cleanly, comes back as a standby of the new one.
    record = StateDir(cli.state_dir).cluster
    assert json.loads(record.read_text())["primary"] == "db-r1"
    wait_ready(lambda: roles(cli).get("db") == "replica", timeout=60, interval=0.5)
    # The web server's router (its nodes from discovery) followed: it writes on db-r1.
    web = cli.process("web")
    signup = httpx.post(
        f"http://{web['address']}/api/signup",
        json={"username": "after_switchover", "password": "correct horse 9"},
        timeout=10,
    )
    assert signup.status_code == 201, signup.text
    assert "db primary is now db-r1" in (cli.state_dir / "logs" / "web.log").read_text()
