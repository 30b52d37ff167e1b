"""``python -m millionscale.chaos``: faults set over its admin API, and bad input refused."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest
from chaos_support import Echo, echo_server, echoes, round_trip

from millionscale.servers.server import free_port

pytestmark = pytest.mark.integration

TOKEN = "test-token-for-chaos"


def start(listen: int, upstream: int, admin: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "millionscale.chaos", "--listen", str(listen)),
            *("--upstream", f"127.0.0.1:{upstream}", "--admin-port", str(admin), *extra),
        ],
        env={**os.environ, "CHAOS_ADMIN_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


async def terminate(process: subprocess.Popen[bytes]) -> int | str:
    """SIGTERM, then its exit code (or "hung" after 10 s)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.to_thread(process.wait, 10)
    except subprocess.TimeoutExpired:
        return "hung"


async def answering(admin: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):  # bounded: 20 s
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if (await admin.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the fault proxy did not answer in 20 s")


def test_the_admin_api_sets_faults_partitions_heals_and_resets():
    listen, admin_port = free_port(), free_port()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def drive(process: subprocess.Popen[bytes], echo: Echo) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{admin_port}", timeout=5) as admin:
            await answering(admin, process)
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
            process = start(listen, echo.port, admin_port, "--fault", "upstream.latency_ms=1")
            try:
                await drive(process, echo)
            finally:
                seen["exit"] = await terminate(process)
                stop(process)

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
        process = start(port, 9, free_port())
        try:
            _, err = process.communicate(timeout=20)
        finally:
            stop(process)

    assert process.returncode == 2
    assert err.decode().startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert b"Traceback" not in err
