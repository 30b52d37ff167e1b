"""The photo app as real processes (``python -m millionscale.photos.app``) for web tier tests.

:func:`start_app` spawns one on a free loopback port with the given
environment and returns once its ``/readyz`` answers 200; :func:`web_servers`
starts several and stops, by pid, every one it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from millionscale.servers import free_port
from millionscale.servers.process import spawn
from millionscale.testing import wait_ready

EXIT_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0  # imports and migrations; seconds on a busy two-core machine


@dataclass
class AppProcess:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.process.pid, sig)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)

    def readiness(self) -> tuple[int, dict]:
        response = httpx.get(f"{self.url}/readyz", timeout=2.0)
        return response.status_code, response.json()


def start_app(name: str, env: dict[str, str], workdir: Path) -> AppProcess:
    """Spawn the app with ``env`` added to ours; return once it is ready."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    process = spawn(
        [sys.executable, "-m", "millionscale.photos.app", "--port", str(port), "--name", name],
        log_path=log_path,
        env={**os.environ, "MEDIA_DIR": str(workdir / "media"), **env},
    )
    app = AppProcess(name, process, f"http://127.0.0.1:{port}", log_path)
    wait_ready(f"{app.url}/readyz", READY_TIMEOUT_S, process=process, log=log_path, what=name)
    return app


@contextmanager
def web_servers(env: dict[str, str], workdir: Path, *names: str) -> Iterator[list[AppProcess]]:
    """The app as processes ``names``, all with ``env``; killed by pid afterwards."""
    apps: list[AppProcess] = []
    try:
        for name in names:
            apps.append(start_app(name, env, workdir))
        yield apps
    finally:
        for app in apps:
            if app.process.poll() is None:
                app.process.kill()
                app.process.wait(EXIT_TIMEOUT_S)
