"""Patroni 3 + etcd failover time on this machine: the peer of our failover monitor.

One etcd and three Patroni nodes (PostgreSQL 15) are started on free loopback
ports in a throwaway directory, with Patroni's *default* timing (``ttl`` 30,
``loop_wait`` 10, ``retry_timeout`` 10, ``maximum_lag_on_failover`` 1 MiB):
the point is to compare defaults, so nothing is tuned.

A trial is the loss of the leader's node, at a random point of the leader's
HA loop: its Patroni and every PostgreSQL process of that node are SIGKILLed
at once. (Patroni starts the postmaster in
a session of its own, so that PostgreSQL survives a Patroni restart; killing
Patroni's process group alone would leave PostgreSQL running, which is not a
node loss.) The figure is the time from the kill to the first write
acknowledged through a libpq multi-host connection string with
``target_session_attrs=read-write``: what an application sees. A write loop
inserts a row every ~20 ms and reconnects on error. The lost node is then
restarted; it rejoins as a replica (``use_pg_rewind``) and the next trial
waits until the leader streams to two replicas again.

Also reported, through the progress callback: how many acknowledged writes of
the trial the new leader does not have (replication is asynchronous, so
Patroni may lose up to ``maximum_lag_on_failover`` bytes of them).

    .venv/bin/python bench/patroni_peer.py [--trials 3] [--json bench/results/patroni_peer.json]

As a module (``bench/`` is on ``sys.path`` for the bench scripts)::

    from patroni_peer import patroni_failover_trials
    seconds = patroni_failover_trials(3, progress=print)

Anything that keeps the peer from being installed or started here raises
:class:`RuntimeError` with the reason; no wait is unbounded.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import json
import math
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from millionscale.bench.provenance import at_least, provenance
from millionscale.errors import ServerError
from millionscale.servers.install import ensure_patroni
from millionscale.servers.process import log_tail, pid_alive, signal_group, spawn, terminate

__all__ = [
    "PATRONI_DEFAULTS",
    "PEER",
    "main",
    "p95",
    "patroni_failover_trials",
]

PEER = "patroni 3.0.2 + etcd 3.4"
# Patroni's own defaults (patroni/config.py, Config.__DEFAULT_CONFIG); deliberately untuned.
PATRONI_DEFAULTS: dict[str, int] = {
    "ttl": 30,
    "loop_wait": 10,
    "retry_timeout": 10,
    "maximum_lag_on_failover": 1048576,
}

PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PG_ACCOUNT = "postgres"  # PostgreSQL refuses to run as root
SCOPE = "millionscale-peer"
NODE_NAMES = ("node1", "node2", "node3")

WRITE_INTERVAL_S = 0.02  # one insert every ~20 ms
CONNECT_TIMEOUT_S = 2  # libpq connect_timeout, per host
STATEMENT_TIMEOUT_MS = 2000  # a write never blocks the loop for longer
WARMUP_S = 1.0  # writes acknowledged before the kill, to start from a steady state
# Plus a random part over one HA loop: the leader refreshes its key every loop_wait and
# the key expires ttl after the last refresh, so where the kill lands in that loop
# decides the failover time (ttl - loop_wait .. ttl); trials must not all land alike.
KILL_JITTER_S = float(PATRONI_DEFAULTS["loop_wait"])
TRIAL_TIMEOUT_S = 120.0  # kill to first acknowledged write; defaults give ~30-40 s
MAX_WRITE_ATTEMPTS = 20_000  # > (WARMUP_S + TRIAL_TIMEOUT_S) / WRITE_INTERVAL_S
READY_TIMEOUT_S = 240.0  # initdb + two base backups, or a rejoin with pg_rewind
ETCD_READY_TIMEOUT_S = 30.0
KILL_TIMEOUT_S = 10.0  # every process of a lost node is gone within this
HTTP_TIMEOUT_S = 1.0  # one REST API or etcd probe
POLL_S = 0.25
PROGRESS_EVERY_S = 5.0  # a word while the write loop waits for the new leader

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class _Node:
    """One Patroni node: its directory (owned by the PostgreSQL account) and ports."""

    name: str
    dir: Path
    api_port: int
    pg_port: int

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def config(self) -> Path:
        return self.dir / "patroni.yml"

    @property
    def log(self) -> Path:
        return self.dir / "patroni.log"


@dataclass(frozen=True, slots=True)
class _ClusterView:
    """What the nodes' REST APIs say: the leader and the replicas streaming from it."""

    leader: str | None
    streaming: frozenset[str]
    replicas: frozenset[str]  # nodes that report role replica, state running

    def ready(self, names: tuple[str, ...]) -> bool:
        others = frozenset(names) - {self.leader}
        return self.leader is not None and others <= self.streaming and others <= self.replicas

    def sentence(self) -> str:
        if self.leader is None:
            return "no leader yet"
        streaming = ", ".join(sorted(self.streaming)) or "none"
        return f"leader {self.leader}, streaming replicas: {streaming}"


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports nobody listens on (all sockets held until all are chosen)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _get_json(port: int, path: str) -> dict[str, Any] | None:
    """GET a JSON object from 127.0.0.1:port; None on any failure. Never hangs."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = json.loads(response.read())
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
    return body if isinstance(body, dict) else None


def _node_pids(node_dir: Path) -> set[int]:
    """Live processes whose working directory is ``node_dir`` or below: the node's processes.

    Patroni runs in the node directory (and so do its helpers: pg_basebackup,
    pg_rewind); every PostgreSQL process runs in the data directory below it.
    """
    root = os.path.realpath(node_dir)
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:  # gone, or a zombie
            continue
        if cwd == root or cwd.startswith(root + "/"):
            pids.add(int(entry))
    return {pid for pid in pids if pid_alive(pid)}


def _postmaster_pid(data_dir: Path) -> int | None:
    """The live postmaster of ``data_dir`` from ``postmaster.pid``, checked by its cwd."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except (OSError, ValueError):
        return None
    return pid if cwd == os.path.realpath(data_dir) and pid_alive(pid) else None


_PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>
_PR_GET_CHILD_SUBREAPER = 37


def _children() -> dict[int, bool]:
    """This process's children: pid -> whether it is a zombie."""
    me = os.getpid()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            found[int(entry)] = fields[0] == b"Z"
    return found


class _Reaper:
    """Makes this process a child subreaper, and reaps the orphans it adopts.

    Patroni starts each postmaster through a helper that exits at once, so the
    postmaster is an orphan; when a node is killed, so are its backends. Under
    an init that does not reap (as in containers), they would stay zombies
    forever. As a subreaper, this process adopts the orphans of its
    descendants and reaps them; children it had before (the caller's) and the
    ones ``exclude`` names (our Popen objects, which wait for themselves) are
    never touched.
    """

    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        self._previous = ctypes.c_int(0)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(self._previous), 0, 0, 0) == 0:
                libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
                self._libc = libc
        except (OSError, AttributeError):  # not Linux: orphans go to init as before
            pass
        self._preexisting = set(_children())

    def reap(self, exclude: set[int]) -> int:
        """Reap the adopted zombies; return how many adopted children are still alive."""
        alive = 0
        for pid, zombie in _children().items():
            if pid in self._preexisting or pid in exclude:
                continue
            if not zombie:
                alive += 1
                continue
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        return alive

    def close(self) -> None:
        if self._libc is not None:
            self._libc.prctl(_PR_SET_CHILD_SUBREAPER, self._previous.value, 0, 0, 0)


class _Cluster:
    """etcd and three Patroni nodes in ``base``; :meth:`stop` ends every process of it."""

    def __init__(self, base: Path, progress: Progress, reaper: _Reaper) -> None:
        self.base = base
        self.progress = progress
        self.reaper = reaper
        self.run_as = PG_ACCOUNT if os.geteuid() == 0 else None
        account = pwd.getpwnam(self.run_as) if self.run_as else None
        self.uid = account.pw_uid if account else os.geteuid()
        self.gid = account.pw_gid if account else os.getegid()
        etcd_client, etcd_peer, *ports = _free_ports(2 + 2 * len(NODE_NAMES))
        self.etcd_client = etcd_client
        self.etcd_peer = etcd_peer
        self.nodes = {
            name: _Node(name, base / name, ports[2 * i], ports[2 * i + 1])
            for i, name in enumerate(NODE_NAMES)
        }
        self.superuser_password = secrets.token_urlsafe(24)
        self.replication_password = secrets.token_urlsafe(24)
        self.etcd: subprocess.Popen[bytes] | None = None
        self.patroni: dict[str, subprocess.Popen[bytes]] = {}

    def reap(self) -> int:
        """Reap adopted zombies (not our Popen children); return the adopted ones alive."""
        ours = {process.pid for process in self.patroni.values()}
        if self.etcd is not None:
            ours.add(self.etcd.pid)
        return self.reaper.reap(ours)

    # -- start -----------------------------------------------------------------

    def start_etcd(self) -> None:
        log = self.base / "etcd.log"
        client = f"http://127.0.0.1:{self.etcd_client}"
        peer = f"http://127.0.0.1:{self.etcd_peer}"
        argv = [
            "etcd",
            "--name=etcd0",
            f"--data-dir={self.base / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=etcd0={peer}",
            "--initial-cluster-state=new",
        ]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.base)}
        self.etcd = spawn(argv, log_path=log, env=env, cwd=self.base)
        deadline = time.monotonic() + ETCD_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.etcd.poll() is not None:
                raise RuntimeError(f"etcd exited with code {self.etcd.returncode}: {log_tail(log)}")
            health = _get_json(self.etcd_client, "/health")
            if health is not None and health.get("health") == "true":
                self.progress(f"etcd ready on 127.0.0.1:{self.etcd_client}")
                return
            time.sleep(POLL_S)
        raise RuntimeError(f"etcd not healthy after {ETCD_READY_TIMEOUT_S:.0f} s: {log_tail(log)}")

    def _config(self, node: _Node) -> dict[str, Any]:
        listen = f"127.0.0.1:{node.pg_port}"
        return {
            "scope": SCOPE,
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {
                "listen": f"127.0.0.1:{node.api_port}",
                "connect_address": f"127.0.0.1:{node.api_port}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_client}"]},
            "bootstrap": {
                "dcs": dict(PATRONI_DEFAULTS),
                "initdb": [{"encoding": "UTF8"}],
            },
            "postgresql": {
                "listen": listen,
                "connect_address": listen,
                "data_dir": str(node.data_dir),
                "bin_dir": str(PG_BINDIR),
                "pgpass": str(node.dir / "pgpass"),
                "use_pg_rewind": True,
                "remove_data_directory_on_rewind_failure": True,
                "authentication": {
                    "superuser": {"username": "postgres", "password": self.superuser_password},
                    "replication": {
                        "username": "replicator",
                        "password": self.replication_password,
                    },
                },
                "pg_hba": [
                    "host all all 127.0.0.1/32 scram-sha-256",
                    "host replication all 127.0.0.1/32 scram-sha-256",
                ],
                "parameters": {"unix_socket_directories": str(node.dir)},
            },
            # No /dev/watchdog here; "off" only silences Patroni's search for one.
            "watchdog": {"mode": "off"},
        }

    def _owned(self, path: Path, mode: int) -> None:
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)

    def prepare_nodes(self) -> None:
        for node in self.nodes.values():
            node.dir.mkdir()
            self._owned(node.dir, 0o700)
            node.data_dir.mkdir()
            self._owned(node.data_dir, 0o700)
            # JSON is YAML; the file holds the passwords, so only the account reads it.
            node.config.write_text(json.dumps(self._config(node), indent=2) + "\n")
            self._owned(node.config, 0o600)
            node.log.touch()
            self._owned(node.log, 0o600)

    def start_patroni(self, name: str) -> None:
        node = self.nodes[name]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(node.dir),  # nothing from the account's real home is read
            "PATRONICTL_CONFIG_FILE": str(node.config),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
        }
        self.patroni[name] = spawn(
            ["patroni", str(node.config)],
            log_path=node.log,
            env=env,
            cwd=node.dir,
            user=self.run_as,
        )

    # -- observe ---------------------------------------------------------------

    def view(self) -> _ClusterView:
        leader = None
        streaming: frozenset[str] = frozenset()
        replicas = set()
        for node in self.nodes.values():
            status = _get_json(node.api_port, "/patroni")
            if status is None or status.get("state") != "running":
                continue
            role = status.get("role")
            if role in ("master", "primary"):  # Patroni 3.0 says "master"
                leader = node.name
                streaming = frozenset(
                    str(entry.get("application_name"))
                    for entry in status.get("replication", [])
                    if isinstance(entry, dict) and entry.get("state") == "streaming"
                )
            elif role == "replica":
                replicas.add(node.name)
        return _ClusterView(leader, streaming, frozenset(replicas))

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> str:
        """Wait until a leader streams to both other nodes and return it; raise after ``timeout``."""
        deadline = time.monotonic() + timeout
        said = ""
        while True:
            for name, process in self.patroni.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"patroni {name} exited with code {process.returncode}: "
                        f"{log_tail(self.nodes[name].log)}"
                    )
            self.reap()
            view = self.view()
            if view.sentence() != said:
                said = view.sentence()
                self.progress(said)
            if view.ready(NODE_NAMES) and view.leader is not None:
                return view.leader
            if time.monotonic() > deadline:
                tails = "; ".join(
                    f"{node.name}: {log_tail(node.log, 3)}" for node in self.nodes.values()
                )
                raise RuntimeError(
                    f"no leader with two streaming replicas after {timeout:.0f} s ({said}); {tails}"
                )
            time.sleep(POLL_S)

    def conninfo(self, *, leader: str | None = None) -> str:
        """The multi-host connection string (or one node's, with ``leader``)."""
        nodes = [self.nodes[leader]] if leader else list(self.nodes.values())
        hosts = ",".join("127.0.0.1" for _ in nodes)
        ports = ",".join(str(node.pg_port) for node in nodes)
        return (
            f"host={hosts} port={ports} dbname=postgres user=postgres "
            f"password={self.superuser_password} target_session_attrs=read-write "
            f"connect_timeout={CONNECT_TIMEOUT_S} "
            f"options='-c statement_timeout={STATEMENT_TIMEOUT_MS}'"
        )

    # -- break and stop --------------------------------------------------------

    def lose_node(self, name: str) -> tuple[float, str]:
        """SIGKILL every process of node ``name`` at once; return the kill's time and a sentence.

        Returns once Patroni, the postmaster and every PostgreSQL process of the
        node are gone; raises if they are not within ``KILL_TIMEOUT_S``.
        """
        node = self.nodes[name]
        process = self.patroni[name]
        postmaster = _postmaster_pid(node.data_dir)
        if postmaster is None:
            raise RuntimeError(f"leader {name} has no running postmaster to kill")
        in_group = os.getpgid(postmaster) == process.pid
        backends = len(_node_pids(node.data_dir) - {postmaster})
        doomed = _node_pids(node.dir) | {process.pid}
        killed_at = time.monotonic()
        signal_group(process.pid, signal.SIGKILL)
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = killed_at + KILL_TIMEOUT_S
        while True:
            process.poll()
            left = _node_pids(node.dir)
            if not left and process.returncode is not None and not pid_alive(postmaster):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes of lost node {name} still alive: {sorted(left)}")
            for pid in left:  # a backend forked between the scan and the kill
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        self.reap()
        where = "in" if in_group else "outside"
        return killed_at, (
            f"killed node {name}: patroni, postmaster {postmaster} ({where} patroni's "
            f"process group) and its {backends} other processes"
        )

    def stop(self) -> None:
        """SIGKILL everything of the cluster (it is thrown away) and reap it; bounded."""
        for name, process in self.patroni.items():
            signal_group(process.pid, signal.SIGKILL)
            for pid in _node_pids(self.nodes[name].dir):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_TIMEOUT_S
        for process in self.patroni.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for node in self.nodes.values():
            while (left := _node_pids(node.dir)) and time.monotonic() < deadline:
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.02)
        if self.etcd is not None:
            terminate(self.etcd, timeout=5.0)
        while self.reap() and time.monotonic() < deadline + KILL_TIMEOUT_S:
            time.sleep(0.02)
        self.reap()


def _write_until_failover(
    cluster: _Cluster, leader: str, trial: int, progress: Progress
) -> tuple[float, int, int]:
    """Write every ~20 ms, lose ``leader`` after a random warm-up, and time the first write after.

    Returns the seconds from the kill to the first acknowledged write (one
    begun after the kill), how many writes acknowledged before the kill the
    new leader lacks, and the new leader's PostgreSQL port.
    """
    conninfo = cluster.conninfo()
    conn: psycopg.Connection[Any] | None = None
    acked: list[int] = []
    killed_at: float | None = None
    began = time.monotonic()
    warmup = WARMUP_S + random.uniform(0.0, KILL_JITTER_S)
    last_error = ""
    told = 0  # whole PROGRESS_EVERY_S periods of waiting already reported
    try:
        for _ in range(MAX_WRITE_ATTEMPTS):
            now = time.monotonic()
            if killed_at is None and acked and now - began >= warmup:
                killed_at, said = cluster.lose_node(leader)
                progress(said)
            if killed_at is not None and int((now - killed_at) / PROGRESS_EVERY_S) > told:
                told = int((now - killed_at) / PROGRESS_EVERY_S)
                progress(f"trial {trial}: {now - killed_at:.0f} s without a write ({last_error})")
            if killed_at is not None and now - killed_at > TRIAL_TIMEOUT_S:
                raise RuntimeError(
                    f"trial {trial}: no write acknowledged {TRIAL_TIMEOUT_S:.0f} s after "
                    f"losing {leader} (last error: {last_error})"
                )
            if killed_at is None and now - began > TRIAL_TIMEOUT_S:
                raise RuntimeError(f"trial {trial}: no write before the kill ({last_error})")
            attempt = time.monotonic()
            try:
                if conn is None:
                    conn = psycopg.connect(conninfo, autocommit=True)
                row = conn.execute(
                    "INSERT INTO peer_writes (trial) VALUES (%s) RETURNING id", (trial,)
                ).fetchone()
            except psycopg.Error as error:
                last_error = str(error).strip().splitlines()[0] if str(error).strip() else ""
                if conn is not None:
                    conn.close()
                    conn = None
            else:
                if killed_at is not None and attempt >= killed_at:
                    seconds = time.monotonic() - killed_at
                    assert conn is not None
                    missing = _missing(conn, acked)
                    return seconds, missing, conn.info.port
                if row is not None:
                    acked.append(int(row[0]))
            time.sleep(max(0.0, WRITE_INTERVAL_S - (time.monotonic() - attempt)))
        raise RuntimeError(f"trial {trial}: gave up after {MAX_WRITE_ATTEMPTS} write attempts")
    finally:
        if conn is not None:
            conn.close()


def _missing(conn: psycopg.Connection[Any], acked: list[int]) -> int:
    row = conn.execute("SELECT count(*) FROM peer_writes WHERE id = ANY(%s)", (acked,)).fetchone()
    return len(acked) - (int(row[0]) if row else 0)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="millionscale-patroni-"))
    try:
        base.chmod(0o711)  # the PostgreSQL account must traverse it, not list it
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _preflight() -> None:
    """Install Patroni and etcd if missing; raise RuntimeError with the reason if impossible."""
    try:
        ensure_patroni(echo=False)
    except ServerError as error:
        raise RuntimeError(f"cannot install Patroni/etcd: {error.one_line()}") from error
    if not (PG_BINDIR / "postgres").exists():
        raise RuntimeError(f"PostgreSQL 15 is not installed in {PG_BINDIR}")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_ACCOUNT)
        except KeyError:
            raise RuntimeError(f"account {PG_ACCOUNT!r} is missing to run PostgreSQL") from None


def _run_trials(cluster: _Cluster, trials: int, say: Progress) -> list[float]:
    cluster.start_etcd()
    cluster.prepare_nodes()
    for name in NODE_NAMES:
        cluster.start_patroni(name)
    say("bootstrapping three Patroni nodes (initdb, base backups)")
    leader = cluster.wait_ready()
    with psycopg.connect(cluster.conninfo(leader=leader), autocommit=True) as conn:
        conn.execute("CREATE TABLE peer_writes (id bigserial PRIMARY KEY, trial int)")
    figures = []
    for trial in range(1, trials + 1):
        say(f"trial {trial}/{trials}: losing leader {leader}")
        seconds, missing, port = _write_until_failover(cluster, leader, trial, say)
        figures.append(seconds)
        new_leader = next((n.name for n in cluster.nodes.values() if n.pg_port == port), "?")
        say(
            f"trial {trial}/{trials}: first write acknowledged {seconds:.2f} s after the loss "
            f"(new leader {new_leader}); acknowledged writes lost: {missing}"
        )
        if trial < trials:
            say(f"restarting {leader}; it rejoins as a replica")
            cluster.start_patroni(leader)
            leader = cluster.wait_ready()
    return figures


def patroni_failover_trials(trials: int, *, progress: Progress | None = None) -> list[float]:
    """Seconds from losing the leader's node to the first write acknowledged, per trial.

    Starts etcd and a three-node Patroni cluster with Patroni's default timing
    in a fresh temporary directory, runs ``trials`` node losses (each followed
    by the lost node's rejoin), and stops and removes everything before it
    returns or raises. Raises :class:`RuntimeError` if the peer cannot be
    installed or started here, or if a trial does not complete in time.
    """
    if trials < 1:
        raise ValueError("trials must be at least 1")
    say: Progress = progress or (lambda _message: None)
    _preflight()
    with _workdir() as base:
        reaper = _Reaper()
        try:
            cluster = _Cluster(base, say, reaper)
            try:
                figures = _run_trials(cluster, trials, say)
            except (psycopg.Error, OSError) as error:
                raise RuntimeError(f"the Patroni peer failed: {error}") from error
            finally:
                cluster.stop()
        finally:
            reaper.close()
    return figures


def p95(figures: list[float]) -> float:
    """The 95th percentile by nearest rank (the largest figure for fewer than 20)."""
    ordered = sorted(figures)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--trials", type=at_least(1), default=3, help="node losses to time (default 3)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")

    def show(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    try:
        figures = patroni_failover_trials(args.trials, progress=show)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    median = statistics.median(figures)
    high = p95(figures)
    print(f"{PEER}, defaults {PATRONI_DEFAULTS}")
    print(
        f"failover (node loss -> first acknowledged write): median {median:.2f} s, p95 {high:.2f} s"
    )
    print("trials: " + ", ".join(f"{seconds:.2f}" for seconds in figures))
    if args.json is not None:
        result = {
            **provenance(None if argv is None else ["bench/patroni_peer.py", *argv]),
            "peer": PEER,
            "settings": {
                **PATRONI_DEFAULTS,
                "write_interval_s": WRITE_INTERVAL_S,
                "kill_jitter_s": KILL_JITTER_S,
                "connect_timeout_s": CONNECT_TIMEOUT_S,
                "target_session_attrs": "read-write",
            },
            "trials_s": [round(seconds, 3) for seconds in figures],
            "median_s": round(median, 3),
            "p95_s": round(high, 3),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
