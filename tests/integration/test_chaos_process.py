"""``python -m millionscale.chaos``: faults set over its admin API, and bad input refused."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from typing import Any

import httpx
import pytest
from chaos_support import Echo, echo_server, echoes, round_trip

from millionscale.servers.server import free_port
from millionscale.testing import spawn_module, wait_ready

pytestmark = pytest.mark.integration

TOKEN = "test-token-for-chaos"


def start(listen: int, upstream: int, admin: int, *extra: str):
    args = ("--listen", str(listen), "--upstream", f"127.0.0.1:{upstream}")
    env = {**os.environ, "CHAOS_ADMIN_TOKEN": TOKEN}
    return spawn_module("millionscale.chaos", *args, "--admin-port", str(admin), *extra, env=env)


async def terminate(process: subprocess.Popen[bytes]) -> int | str:
    """SIGTERM, then its exit code (or "hung" after 10 s)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.to_thread(process.wait, 10)
    except subprocess.TimeoutExpired:
        return "hung"


def test_the_admin_api_sets_faults_partitions_heals_and_resets():
    listen, admin_port = free_port(), free_port()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def drive(process: subprocess.Popen[bytes], echo: Echo) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{admin_port}", timeout=5) as admin:
            url = f"http://127.0.0.1:{admin_port}/healthz"
            await asyncio.to_thread(wait_ready, url, 20, process=process)
            seen["initial"] = (await admin.get("/faults", headers=auth)).json()["summary"]
            seen["echoes"] = await echoes(listen)

            slow = await admin.put("/faults", headers=auth, json={"downstream": {"latency_ms": 80}})
            reader, writer = await asyncio.open_connection("127.0.0.1", listen)
            seen["slow"] = (slow.status_code, await round_trip(reader, writer, b"x"))

            seen["no token"] = (await admin.put("/faults", json={})).status_code
            bad = await admin.put("/faults", headers=auth, content=b'{"latency_ms": "soon"}')
            seen["bad spec"] = (bad.status_code, bad.json()["detail"])

            await admin.delete("/faults", headers=auth)
            reset = await admin.post("/reset", headers=auth)
            seen["reset"] = reset.json()["result"]
            try:
                async with asyncio.timeout(5):
                    seen["after reset"] = await reader.read(1)
            except ConnectionResetError:
                seen["after reset"] = "reset"
            writer.close()

            await admin.post("/partition", headers=auth, json={"new": "refuse"})
            seen["partitioned"] = await echoes(listen)
            await admin.post("/heal", headers=auth)
            seen["healed"] = await echoes(listen)
            seen["stats"] = (await admin.get("/stats", headers=auth)).json()
            seen["upstream connections"] = echo.connections

    async def scenario() -> None:
        async with echo_server() as echo:
            with start(listen, echo.port, admin_port, "--fault", "upstream.latency_ms=1") as child:
                try:
                    await drive(child.process, echo)
                finally:
                    seen["exit"] = await terminate(child.process)

    seen: dict[str, Any] = {}
    asyncio.run(scenario())

    assert seen["initial"] == "upstream +1 ms"
    assert seen["echoes"] is True
    status, slowed = seen["slow"]
    assert status == 200
    assert slowed >= 0.08 - 1e-3
    assert seen["no token"] == 401
    assert seen["bad spec"] == (
        422,
        'latency_ms must be a number, not "soon" (see docs/chaos.md for the fault keys)',
    )
    assert seen["reset"] == "reset 1 open connections"
    assert seen["after reset"] == "reset"
    assert seen["partitioned"] is False
    assert seen["healed"] is True
    assert seen["stats"]["cut"] == 1
    assert seen["stats"]["accepted"] == seen["upstream connections"]  # refused: never accepted
    assert seen["exit"] == 0


def test_a_taken_listen_port_exits_2_with_the_reason():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with start(port, 9, free_port()) as child:
            child.process.wait(timeout=20)
            err = child.log()

    assert child.process.returncode == 2
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in err
