"""Issue 13: the balancer's backends come from Discovery and change without a restart.

Three real web processes (the placeholder app); the balancer is a real process
(``python -m millionscale.lb --discovery file:PATH --tier web``) reading a
snapshot file that the test rewrites, as an operator or a supervisor would.
Under a bounded request loop (six clients, at most ``MAX_REQUESTS``):

- a member added to the file is in rotation within one health-check interval
  of the balancer seeing the file (``FILE_POLL_S``), with no failed request
  and the same balancer process throughout;
- a member removed from the file is drained and then gets no request, with
  no failed request.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from chaos_support import HttpProcess, http_servers, served

from millionscale.discovery import Member, Snapshot
from millionscale.discovery._static import FILE_POLL_S
from millionscale.servers.server import free_port

pytestmark = pytest.mark.integration

TOKEN = "discovery-membership-test-token"
INTER_S = 0.5  # the balancer's check interval here (--inter-s): short, to keep the test short
RISE = 2  # HAProxy's default: a new backend is up at its second passing check
CLIENTS = 6
MAX_REQUESTS = 20_000  # the loop's bound in count; asyncio.timeout bounds it in time
SLACK_S = 1.5  # for a shared, loaded machine: process scheduling, the check's own round trip


@pytest.fixture(scope="module")
def web() -> Iterator[list[HttpProcess]]:
    with http_servers(3) as servers:
        yield servers


def write(path: Path, version: int, servers: dict[str, HttpProcess]) -> None:
    members = tuple(
        Member(name, "web", "127.0.0.1", {"main": s.port}) for name, s in servers.items()
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(Snapshot(version, members).dumps())
    tmp.replace(path)  # atomic: the balancer never reads half a file


def start_balancer(port: int, admin_port: int, source: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "millionscale.lb", "--port", str(port)]
    argv += ["--admin-port", str(admin_port), "--policy", "round-robin"]
    argv += ["--discovery", f"file:{source}", "--tier", "web"]
    argv += ["--inter-s", str(INTER_S), "--rise", str(RISE)]
    return subprocess.Popen(
        argv,
        env={**os.environ, "LB_ADMIN_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


async def backends(client: httpx.AsyncClient, admin_port: int) -> dict[str, bool]:
    """The admin API's backends: name -> serving."""
    reply = await client.get(
        f"http://127.0.0.1:{admin_port}/backends", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    reply.raise_for_status()
    return {b["name"]: b["serving"] for b in reply.json()["backends"]}


async def until(
    client: httpx.AsyncClient,
    admin_port: int,
    process: subprocess.Popen[bytes],
    wanted: dict[str, bool],
    timeout_s: float,
) -> float:
    """Poll every 50 ms until the backends are ``wanted``; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        assert process.poll() is None, "the balancer exited"
        try:
            if await backends(client, admin_port) == wanted:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"backends not {wanted} in {timeout_s} s")


def test_members_added_to_and_removed_from_discovery_join_and_drain_without_a_failed_request(
    web, tmp_path
):
    web_1, web_2, web_3 = web
    source = tmp_path / "members.json"
    write(source, 1, {"web-1": web_1, "web-2": web_2})
    port, admin_port = free_port(), free_port()

    async def scenario() -> None:
        balancer = start_balancer(port, admin_port, source)
        failures: list[str] = []
        sent = 0
        done = asyncio.Event()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await until(
                    client, admin_port, balancer, {"web-1": True, "web-2": True}, timeout_s=20
                )

                async def load() -> None:
                    nonlocal sent
                    while not done.is_set() and sent < MAX_REQUESTS:
                        sent += 1
                        try:
                            reply = await client.get(f"http://127.0.0.1:{port}/")
                            if reply.status_code != 200:
                                failures.append(f"{reply.status_code} {reply.text[:80]}")
                        except httpx.HTTPError as error:
                            failures.append(repr(error))

                async with asyncio.timeout(90), asyncio.TaskGroup() as clients:
                    for _ in range(CLIENTS):
                        clients.create_task(load())
                    try:
                        await asyncio.sleep(0.5)  # load under way

                        # Added: in rotation within one check interval of being seen.
                        before_3 = await served(client, web_3.port)
                        write(source, 2, {"web-1": web_1, "web-2": web_2, "web-3": web_3})
                        joined_s = await until(
                            client,
                            admin_port,
                            balancer,
                            {"web-1": True, "web-2": True, "web-3": True},
                            timeout_s=10,
                        )
                        await asyncio.sleep(0.5)
                        assert await served(client, web_3.port) > before_3, "web-3 got nothing"

                        # Removed: drained, then no request reaches it.
                        write(source, 3, {"web-2": web_2, "web-3": web_3})
                        await until(
                            client,
                            admin_port,
                            balancer,
                            {"web-2": True, "web-3": True},
                            timeout_s=10,
                        )
                        after_1 = await served(client, web_1.port)
                        await asyncio.sleep(1.0)
                        assert await served(client, web_1.port) == after_1, "web-1 still served"
                    finally:
                        done.set()
                assert balancer.poll() is None, "the balancer exited (one process throughout)"
        finally:
            stop(balancer)

        assert failures == []
        assert sent > 100, f"only {sent} requests were sent"
        # Seen within FILE_POLL_S; then checked at once and again INTER_S later (rise 2).
        assert joined_s <= FILE_POLL_S + (RISE - 1) * INTER_S + SLACK_S, joined_s

    asyncio.run(scenario())
