"""Helpers for system tests: run the real `millionscale` command on a scratch state directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from millionscale.servers.process import pid_alive
from millionscale.testing import read_topology, wait_ready
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
