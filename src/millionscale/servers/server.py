"""Throwaway servers: a real engine on a free loopback port in a temporary directory.

    with start_server("postgres") as pg:
        psycopg.connect(pg.url)

:func:`start_server` prepares a fresh data directory, spawns the engine (in its
own process group, killed by the kernel if we die), waits until it answers
real requests and returns a :class:`RunningServer`. Leaving the ``with``
block, calling :meth:`RunningServer.stop` or exiting the interpreter stops the
server and removes its directory. Directories left by a parent that was
SIGKILLed (so could not clean up) are swept by the next :func:`start_server`
on the machine, once their owner pid is dead.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from millionscale.errors import ServerStartError
from millionscale.servers.engines import (
    Endpoint,
    Engine,
    PostgresEngine,
    engine_for,
    prepare_owned_dir,
)
from millionscale.servers.process import log_tail, pid_alive, terminate

__all__ = ["RunningServer", "free_port", "start_replica", "start_server", "wait_ready"]

READY_TIMEOUT_S = 30.0  # PostgreSQL's first start with initdb takes 1-3 s here
PROBE_INTERVAL_S = 0.05
STOP_TIMEOUT_S = 10.0

_RUN_DIR_PREFIX = "millionscale-run-"
_RUN_DIR_PATTERN = re.compile(rf"{_RUN_DIR_PREFIX}(\d+)-")
_live: set[RunningServer] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's choice for port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_ready(
    engine: Engine,
    endpoint: Endpoint,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float,
) -> None:
    """Probe until the engine answers; raise with its log tail if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerStartError(
                f"{engine.name} exited with code {process.returncode} before it was ready",
                hint=f"read {log_path}",
                log_tail=log_tail(log_path),
            )
        if engine.probe(endpoint):
            return
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{engine.name} was not ready within {timeout:.0f} s",
                hint=f"read {log_path}, or raise the ready timeout on a slow machine",
                log_tail=log_tail(log_path),
            )
        time.sleep(PROBE_INTERVAL_S)


def _sweep_orphans(tmp: Path) -> None:
    """Remove run directories whose owner process is gone."""
    for entry in tmp.glob(f"{_RUN_DIR_PREFIX}*"):
        match = _RUN_DIR_PATTERN.match(entry.name)
        if match and not pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


@dataclass(eq=False)
class RunningServer:
    """A started engine; stop it (or leave its ``with`` block) to clean up."""

    engine: Engine
    endpoint: Endpoint
    run_dir: Path
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        """The client URL, secret included: do not log it."""
        return self.engine.url(self.endpoint)

    @property
    def host(self) -> str:
        return self.endpoint.host

    @property
    def port(self) -> int:
        return self.endpoint.port

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` to the server's process group (for fault tests)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def restart(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Start the engine again on the same data directory and ports."""
        terminate(self.process, graceful=self.engine.graceful_signal, timeout=STOP_TIMEOUT_S)
        self.process = self.engine.launch(self.data_dir, self.endpoint, self.log_path)
        wait_ready(self.engine, self.endpoint, self.process, self.log_path, timeout)

    def stop(self) -> None:
        """Stop the server (graceful, then forced) and remove its directory."""
        terminate(self.process, graceful=self.engine.graceful_signal, timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        _live.discard(self)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    engine: Engine | str,
    *,
    host: str = "127.0.0.1",
    durable: bool = False,
    ready_timeout: float = READY_TIMEOUT_S,
    secret: str | None = None,
) -> RunningServer:
    """Start a throwaway ``engine`` and return once it answers real requests.

    ``engine`` is an :class:`Engine` or a name (``"postgres"``, ``"redis"``,
    ``"nats"``; then ``durable`` picks its mode, off by default for speed).
    Raises :class:`~millionscale.errors.BinaryNotFoundError` when the engine
    is not installed and :class:`~millionscale.errors.ServerStartError`, with
    the tail of the engine's log, when it does not become ready.
    """
    if isinstance(engine, str):
        engine = engine_for(engine, durable=durable)
    tmp = Path(tempfile.gettempdir())
    _sweep_orphans(tmp)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{_RUN_DIR_PREFIX}{os.getpid()}-", dir=tmp))
    run_dir.chmod(0o755)  # the engine's own account must reach its data directory
    try:
        data_dir = prepare_owned_dir(run_dir / "data", engine.run_as())
        ports = {"main": free_port(host)}
        for name in engine.extra_ports:  # distinct: two asks of the kernel can get one port
            port = free_port(host)
            while port in ports.values():
                port = free_port(host)
            ports[name] = port
        endpoint = Endpoint(host=host, ports=ports, secret=secret or secrets.token_urlsafe(18))
        log_path = run_dir / f"{engine.name}.log"
        process = engine.launch(data_dir, endpoint, log_path)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    server = RunningServer(engine, endpoint, run_dir, data_dir, log_path, process)
    _live.add(server)
    try:
        wait_ready(engine, endpoint, process, log_path, ready_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_replica(
    primary: RunningServer,
    name: str,
    *,
    settings: dict[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
) -> RunningServer:
    """A throwaway streaming replica of the throwaway PostgreSQL ``primary``.

    ``name`` is the replica's ``cluster_name`` (what ``synchronous_standby_names``
    on the primary refers to) and the name of its replication slot. Stopping
    it does not drop the slot: drop it on the primary if the replica is gone
    for good, or the primary keeps its WAL.
    """
    if not isinstance(primary.engine, PostgresEngine):
        raise TypeError("only PostgreSQL servers have replicas here")
    engine = PostgresEngine(
        durable=primary.engine.durable,
        settings=dict(settings or {}),
        primary=primary.endpoint,
        node_name=name,
    )
    return start_server(
        engine, host=primary.host, ready_timeout=ready_timeout, secret=primary.endpoint.secret
    )


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.stop()
