"""Helpers for system tests: run the real `millionscale` command on a scratch state directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from millionscale.servers.process import pid_alive
from millionscale.testing import read_topology, wait_ready
from millionscale.topology.admin import AdminClient
from millionscale.topology.state import StateDir
from millionscale.topology.urls import engine_url

CLI_TIMEOUT_S = 180


@dataclass
class Cli:
    """The `millionscale` command, run as users run it, on one state directory."""

    workdir: Path
    env: dict[str, str]

    @property
    def state_dir(self) -> Path:
        return self.workdir / ".millionscale"

    def run(self, *args: str, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "millionscale.cli", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def status(self) -> dict[str, Any]:
        result = self.run("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def process(self, name: str) -> dict[str, Any]:
        return next(p for p in self.status()["processes"] if p["name"] == name)

    def supervisor_pid(self) -> int | None:
        try:
            return int((self.state_dir / "supervisor.pid").read_text())
        except FileNotFoundError:
            return None

    def write_topology(self, text: str, name: str = "topology.toml") -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path


def postgres_urls(cli: Cli) -> dict[str, str]:
    """Every PostgreSQL node of the running topology, by name, as a URL from the root
    namespace (through its Unix socket when it runs on a host)."""
    return {
        p.name: engine_url(p)
        for p in read_topology(cli.state_dir).processes
        if p.engine == "postgres"
    }


def connect_result(address: tuple[str, int], sock: socket.socket | None = None) -> str:
    """'connected', or the error a connection to ``address`` gets, within 2 s; from the
    namespace ``sock`` was made in (``netns.socket_in``), else from the root namespace."""
    sock = sock or socket.socket()
    with sock:
        sock.settimeout(2)
        try:
            sock.connect(address)
        except OSError as error:
            return error.strerror or type(error).__name__
    return "connected"


def balancer(cli: Cli) -> tuple[str, AdminClient, int]:
    """The running topology's balancer (process ``lb``): its public URL, a client of
    its admin API (from inside its namespace), and its pid."""
    lb = next(p for p in read_topology(cli.state_dir).processes if p.name == "lb")
    token = StateDir(cli.state_dir).admin_token_file.read_text().strip()
    admin = AdminClient("load balancer", "127.0.0.1", lb.ports["admin"], token, lb.netns)
    return f"http://{lb.address}", admin, cli.process("lb")["pid"]


def serving(admin: AdminClient) -> dict[str, bool]:
    """The balancer's backends, each with whether it serves now."""
    return {b["name"]: b["serving"] for b in admin.call("GET", "/backends")["backends"]}


class SignedInLoad:
    """A bounded loop of a signed-in user's ``GET /api/me`` through ``base``, in a
    thread, while the block runs: every outcome recorded (a status code, or the
    transport error's name and text), so that a failed request is seen, never lost.

        with SignedInLoad(base, max_requests=20_000) as load:
            ...  # change the topology
        assert set(load.outcomes) == {"200"}
    """

    def __init__(self, base: str, *, max_requests: int) -> None:
        self.base, self.max_requests = base, max_requests
        self.outcomes: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load")
        self._cookies: httpx.Cookies | None = None

    def __enter__(self) -> SignedInLoad:
        with httpx.Client(base_url=self.base, timeout=10) as first:
            signup = first.post(
                "/api/signup", json={"username": "ada", "password": "correct horse 9"}
            )
            assert signup.status_code == 201, signup.text
            self._cookies = first.cookies
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the request loop did not stop"

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10, cookies=self._cookies) as user:
            for _ in range(self.max_requests):
                if self._stop.is_set():
                    return
                try:
                    self.outcomes.append(str(user.get("/api/me").status_code))
                except httpx.HTTPError as error:
                    self.outcomes.append(f"{type(error).__name__}: {error}")

    def tally(self) -> dict[str, int]:
        return {outcome: self.outcomes.count(outcome) for outcome in set(self.outcomes)}


def all_dead(pids: list[int], timeout: float = 10.0) -> bool:
    """True once none of ``pids`` lives; raises naming the survivors after ``timeout``."""

    def survivors() -> list[int]:
        return [pid for pid in pids if pid_alive(pid)]

    wait_ready(
        lambda: not survivors(),
        timeout,
        interval=0.05,
        what="the exit of every process",
        describe=survivors,
    )
    return True


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """A `millionscale` command on a scratch directory; whatever it started is stopped after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLIONSCALE_")}
    tool = Cli(workdir=tmp_path, env=env)
    yield tool
    tool.run("down", "--purge", timeout=120)  # engines' data may live outside tmp_path


def placeholder(name: str = "web", *, extra: str = "") -> str:
    """A topology table for the placeholder web process, without a database."""
    return f"""
[processes.{name}]
tier = "web"
command = ["{{python}}", "-m", "millionscale.web.placeholder", "--port", "{{port}}", "--name", "{{name}}"]
readiness = {{ http = "/readyz", timeout_s = 30 }}
{extra}
"""
