"""``python -m millionscale.cdn``: a bad flag exits 2 with one line; the process serves,
purges through its admin API, logs JSON lines, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cdn_support import Origin, answer, get

pytestmark = pytest.mark.integration


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "millionscale.cdn", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "1"],  # no --origin, no --admin-port
        ["--origin", "ftp://x", "--port", "0", "--admin-port", "0"],
        ["--origin", "http://127.0.0.1:1", "--port", "0", "--admin-port", "0", "--memory", "lots"],
        ["--origin", "http://127.0.0.1:1", "--port", "99999", "--admin-port", "0"],
        ["--origin", "http://127.0.0.1:1", "--port", "0", "--admin-port", "0"],  # no token
        [
            "--origin",
            "http://127.0.0.1:1",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--read-timeout-s",
            "-1",
        ],
    ],
)
def test_a_bad_command_line_exits_2_with_one_line(args: list[str]) -> None:
    # Arrange
    env = {k: v for k, v in os.environ.items() if k != "CDN_ADMIN_TOKEN"}
    # Act
    done = _run(*args, env=env)
    # Assert
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_process_serves_purges_and_stops_on_sigterm(tmp_path: Path) -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: answer(b"hi", (b"cache-control", b"max-age=60"))).start()
        port, admin_port = _free_port(), _free_port()
        env = {**os.environ, "CDN_ADMIN_TOKEN": "t0ken"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "millionscale.cdn",
            "--origin",
            origin.url,
            "--port",
            str(port),
            "--admin-port",
            str(admin_port),
            "--name",
            "edge-p",
            "--memory",
            "16MiB",
            "--stale-if-error",
            "60",
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{admin_port}") as admin:
                for _ in range(200):
                    try:
                        if (await admin.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                # Act
                miss = await get(port, b"/x")
                hit = await get(port, b"/x")
                purged = await admin.post(
                    "/v1/purge", json={"url": "/x"}, headers={"Authorization": "Bearer t0ken"}
                )
                metrics = (await admin.get("/metrics")).text
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                code = await process.wait()
            assert process.stderr is not None
            lines = (await process.stderr.read()).decode().splitlines()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await origin.stop()
        # Assert
        assert (miss.headers[b"x-cache"], hit.headers[b"x-cache"]) == (b"MISS", b"HIT")
        assert hit.headers[b"via"] == b"1.1 edge-p"
        assert purged.json() == {"purged": 1, "seq": 1}  # logged for the edges below
        assert 'millionscale_cdn_requests_total{edge="edge-p",outcome="hit"} 1.0' in metrics
        assert code == 0
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(r["event"] == "caching" and r["process"] == "edge-p" for r in records)
        assert any(r["event"] == "stopped" for r in records)

    asyncio.run(scenario())


STOP_PROMPTLY_S = 5.0  # the supervisor's SIGKILL comes 10 s after its SIGTERM


def test_sigterm_stops_it_promptly_while_a_follower_s_long_poll_waits(tmp_path: Path) -> None:
    """A shield's followers (the edges below it) long-poll its purge log for 25 s; the
    edges stop first (`down`), and their polls, gone or not, must not hold the shield's
    graceful shutdown past the supervisor's stop timeout (it was SIGKILLed at 10 s)."""

    async def scenario() -> tuple[float, int]:
        origin = await Origin(lambda _h: answer(b"hi", (b"cache-control", b"max-age=60"))).start()
        port, admin_port = _free_port(), _free_port()
        env = {**os.environ, "CDN_ADMIN_TOKEN": "t0ken"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "millionscale.cdn", "--origin", origin.url,
            "--port", str(port), "--admin-port", str(admin_port), "--name", "shield-p",
            "--memory", "16MiB", env=env, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            auth = {"Authorization": "Bearer t0ken"}
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{admin_port}", headers=auth, timeout=60
            ) as admin:
                for _ in range(200):
                    try:
                        if (await admin.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                first = await admin.get("/v1/purges", params={"after": 0, "follower": "edge-1"})
                position = first.json()
                poll = asyncio.create_task(
                    admin.get(
                        "/v1/purges",
                        params={
                            "after": position["last"],
                            "epoch": position["epoch"],
                            "follower": "edge-1",
                            "wait_s": 25,
                        },
                    )
                )
                await asyncio.sleep(0.3)  # the poll waits at the shield
                began = asyncio.get_running_loop().time()
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(30):
                    code = await process.wait()
                took = asyncio.get_running_loop().time() - began
                poll.cancel()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await origin.stop()
        return took, code

    took, code = asyncio.run(scenario())

    assert code == 0
    assert took < STOP_PROMPTLY_S
