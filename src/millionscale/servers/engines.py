"""How to prepare, run, reach and probe each real engine.

An :class:`Engine` knows one server program: how to make its data directory
(``prepare``), the command line that runs it in the foreground (``argv``), the
URL clients use (``url``) and whether it answers yet (``probe``). It does not
start anything itself: :mod:`millionscale.servers.server` (throwaway servers
for tests) and the topology supervisor both spawn ``argv`` their own way, so
an engine in a topology is supervised, restarted and stopped like any other
process.

Every engine is bound to loopback by default and protected by a generated
secret (PostgreSQL password, Redis ``requirepass``, NATS token). Secrets go
into files with owner-only permissions and into URLs, never onto a command
line, where ``ps`` would show them.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import pwd
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import psycopg
import redis
import structlog

from millionscale.errors import ServerError, ServerStartError, first_line
from millionscale.servers.binaries import find_bindir
from millionscale.servers.netns import run_in
from millionscale.servers.process import spawn

log = structlog.get_logger()

__all__ = [
    "ENGINE_TYPES",
    "Endpoint",
    "Engine",
    "NatsEngine",
    "PostgresEngine",
    "RedisEngine",
    "engine_for",
    "owned_dir_location",
    "prepare_owned_dir",
    "remove_owned_dir",
    "sweep_fallbacks_of",
]

PROBE_TIMEOUT_S = 1.0  # one readiness probe; the caller retries until its own deadline
PRIMARY_WAIT_S = 30.0  # a replica (re)starting waits this long for its primary to answer
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_SAMENET_HBA = (
    "host all all samenet scram-sha-256",
    "host replication all samenet scram-sha-256",
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a server listens and the secret that opens it."""

    host: str
    ports: dict[str, int]  # "main" always; engines add their own (NATS "monitor")
    secret: str
    # Also listen on a Unix socket in this directory (for clients in other network
    # namespaces, which cannot reach the host's loopback); None: TCP only.
    socket_dir: str | None = None

    @property
    def port(self) -> int:
        return self.ports["main"]


@dataclass(frozen=True)
class Engine(ABC):
    """One real server program. Subclasses are stateless apart from settings.

    ``durable`` asks for the engine's crash-safe mode; ``settings`` are extra
    engine settings (``postgresql.conf`` keys, ``redis.conf`` directives,
    NATS configuration lines) that win over ours.
    """

    durable: bool = True
    settings: dict[str, str] = field(default_factory=dict)

    name: ClassVar[str]
    extra_ports: ClassVar[tuple[str, ...]] = ()
    graceful_signal: ClassVar[signal.Signals] = signal.SIGTERM

    def run_as(self) -> str | None:
        """The account the server must run as, or None for the current one."""
        return None

    @abstractmethod
    def prepare(self, data_dir: Path, endpoint: Endpoint) -> None:
        """Make ``data_dir`` ready to run on ``endpoint``; idempotent."""

    @abstractmethod
    def argv(self, data_dir: Path, endpoint: Endpoint) -> list[str]:
        """The foreground command line; it holds no secret."""

    @abstractmethod
    def url(self, endpoint: Endpoint) -> str:
        """The client URL, secret included."""

    @abstractmethod
    def probe(self, endpoint: Endpoint) -> bool:
        """True when the server answers real requests; never raises, never hangs."""

    def socket_url(self, endpoint: Endpoint) -> str | None:
        """The client URL through ``endpoint.socket_dir``'s Unix socket, secret included;
        None if this engine has no Unix socket."""
        return None

    def launch(
        self,
        data_dir: Path,
        endpoint: Endpoint,
        log_path: Path,
        *,
        cpus: Sequence[int] | None = None,
        netns: str | None = None,
        cgroup_procs: Sequence[Path] = (),
    ) -> subprocess.Popen[bytes]:
        """Prepare ``data_dir`` (idempotent) and start the server on it, as its account.

        With ``netns`` (a simulated host's namespace) the preparation runs in it
        too, so that a replica's clone reaches its primary by the address the
        server will use; ``cgroup_procs`` puts the server in its host's cgroup
        (:func:`~millionscale.servers.process.spawn`).
        """
        if netns is None:
            self.prepare(data_dir, endpoint)
        else:
            run_in(netns, lambda: self.prepare(data_dir, endpoint))
        return spawn(
            self.argv(data_dir, endpoint),
            log_path=log_path,
            user=self.run_as(),
            cwd=data_dir,
            cpus=cpus,
            netns=netns,
            cgroup_procs=cgroup_procs,
        )


def _account(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise ServerError(
            f"account {user!r} does not exist",
            hint="create an unprivileged account (useradd --system postgres) "
            "or set MILLIONSCALE_PG_USER to one",
        ) from None


def _traversable(path: Path, account: pwd.struct_passwd) -> bool:
    groups = {account.pw_gid, *os.getgrouplist(account.pw_name, account.pw_gid)}
    for ancestor in [path, *path.parents]:
        try:
            st = ancestor.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == account.pw_uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            return False
    return True


_FALLBACK_OWNER = "owner"  # in a fallback directory: the path it stands in for


def _fallback(path: Path, user: str) -> Path:
    """Where ``path`` lives when ``user`` cannot reach it: the same place every time."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"millionscale-{user}-{digest}" / path.name


def _sweep_fallbacks(user: str) -> None:
    """Remove fallback directories whose owner (a state directory's data dir) is gone."""
    for base in Path(tempfile.gettempdir()).glob(f"millionscale-{user}-*"):
        try:
            owner = Path((base / _FALLBACK_OWNER).read_text().strip())
        except OSError:
            continue
        if not owner.parent.exists():
            shutil.rmtree(base, ignore_errors=True)


def sweep_fallbacks_of(root: Path) -> list[Path]:
    """Remove every fallback directory that stands in for a path under ``root``
    (whichever account it was made for); return the paths they stood in for."""
    removed: list[Path] = []
    root = root.resolve()
    for base in Path(tempfile.gettempdir()).glob("millionscale-*-*"):
        try:
            owner = Path((base / _FALLBACK_OWNER).read_text().strip())
        except OSError:
            continue
        if owner.is_relative_to(root):
            shutil.rmtree(base, ignore_errors=True)
            removed.append(owner)
    return removed


def owned_dir_location(path: Path, user: str | None) -> Path:
    """Where :func:`prepare_owned_dir` puts ``path`` for ``user``, without creating it."""
    if user is None or user == pwd.getpwuid(os.geteuid()).pw_name:
        return path
    if path.parent.exists() and _traversable(path.parent, _account(user)):
        return path
    return _fallback(path, user)


def prepare_owned_dir(path: Path, user: str | None) -> Path:
    """Create ``path`` (mode 0700) owned by ``user``, and return it.

    When ``user`` could not reach ``path`` (an ancestor it may not enter, such
    as root's home or a 0700 state directory), return a directory under the
    system temporary directory instead, named after ``path`` so that the same
    ``path`` always maps to the same place, and recording ``path`` so that it
    is swept once ``path``'s parent is gone.
    """
    if user is None or user == pwd.getpwuid(os.geteuid()).pw_name:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path
    account = _account(user)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _traversable(path.parent, account):
        _sweep_fallbacks(user)
        wanted, path = path, _fallback(path, user)
        path.parent.mkdir(mode=0o755, exist_ok=True)
        (path.parent / _FALLBACK_OWNER).write_text(f"{wanted.resolve()}\n")
    path.mkdir(exist_ok=True, mode=0o700)
    os.chown(path, account.pw_uid, account.pw_gid)
    path.chmod(0o700)
    return path


def remove_owned_dir(path: Path, user: str | None) -> None:
    """Delete what :func:`prepare_owned_dir` made for ``path``, wherever it put it."""
    location = owned_dir_location(path, user)
    shutil.rmtree(location, ignore_errors=True)
    if location != path and (location.parent / _FALLBACK_OWNER).exists():
        shutil.rmtree(location.parent, ignore_errors=True)


def _write_secret_file(path: Path, text: str, owner: str | None = None) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)
    if owner is not None and os.geteuid() == 0:
        account = _account(owner)
        os.chown(path, account.pw_uid, account.pw_gid)


@dataclass(frozen=True)
class PostgresEngine(Engine):
    """PostgreSQL, run as an unprivileged account when we are root.

    ``durable=False`` turns off fsync and full-page writes: a throwaway server
    for tests survives the kill of its own processes (the page cache keeps the
    data) but not a crash of the machine.

    ``primary`` makes this node a streaming replica of that server: its data
    directory is cloned with ``pg_basebackup`` (WAL streamed during the copy, a
    physical replication slot named after the node created on the primary so
    the primary keeps every WAL segment the replica still needs, and
    ``standby.signal`` plus ``primary_conninfo`` written). A replica shares its
    primary's password: the clone copies the roles. ``node_name`` becomes
    ``cluster_name``, the name a primary's ``synchronous_standby_names`` uses.
    """

    name: ClassVar[str] = "postgres"
    # SIGINT is PostgreSQL's "fast shutdown": roll back clients, checkpoint, exit.
    # SIGTERM ("smart") would wait for every client to disconnect.
    graceful_signal: ClassVar[signal.Signals] = signal.SIGINT

    user: str = "postgres"  # superuser role created by initdb
    primary: Endpoint | None = None
    node_name: str | None = None

    @property
    def slot_name(self) -> str:
        """The replication slot this node holds on its primary."""
        return (self.node_name or "replica").replace("-", "_")

    def run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        return os.environ.get("MILLIONSCALE_PG_USER", "postgres")

    def _bin(self, program: str) -> str:
        return str(find_bindir("postgres") / program)

    def _run(self, argv: list[str], env: dict[str, str] | None = None) -> str | None:
        """Run a PostgreSQL program as the server's account; its error text, or None."""
        run_as = self.run_as()
        kwargs: dict[str, object] = {}
        if run_as:
            account = _account(run_as)
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        result = subprocess.run(  # type: ignore[call-overload]
            argv, capture_output=True, text=True, check=False, cwd="/", env=env, **kwargs
        )
        if result.returncode == 0:
            return None
        return " | ".join((result.stderr or result.stdout).strip().splitlines()[-6:])

    def _primary_env(self, primary: Endpoint) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": primary.secret, "PGCONNECT_TIMEOUT": "10"}

    def _primary_dsn(self, primary: Endpoint) -> str:
        return f"host={primary.host} port={primary.port} user={self.user} dbname=postgres"

    def _ask_primary(self, primary: Endpoint) -> tuple[bool, bool] | str:
        """(in recovery, holds this node's slot), or why the primary did not answer."""
        try:
            with psycopg.connect(
                self._primary_dsn(primary), password=primary.secret, connect_timeout=2
            ) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(),"
                    " EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
                    (self.slot_name,),
                ).fetchone()
        except psycopg.Error as exc:
            return first_line(exc)
        assert row is not None
        return bool(row[0]), bool(row[1])

    def _wait_for_primary(self, primary: Endpoint) -> bool:
        """Wait until ``primary`` answers as a primary (a standby being promoted soon
        will); whether it holds this node's slot."""
        deadline = time.monotonic() + PRIMARY_WAIT_S
        while True:
            facts = self._ask_primary(primary)
            if isinstance(facts, tuple) and not facts[0]:
                return facts[1]
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        error = facts if isinstance(facts, str) else "it is still a standby"
        raise ServerStartError(
            f"the primary {primary.host}:{primary.port} is not ready ({error})",
            hint="this node follows the primary the failover monitor names; it starts once "
            "that primary answers",
        )

    def _clone(self, data_dir: Path, primary: Endpoint) -> None:
        facts = self._ask_primary(primary)  # unreachable: pg_basebackup will say so
        has_slot = isinstance(facts, tuple) and facts[1]
        argv = [
            self._bin("pg_basebackup"),
            "--pgdata", str(data_dir),
            "--dbname", self._primary_dsn(primary),
            "--wal-method", "stream",
            "--write-recovery-conf",
            "--slot", self.slot_name,
            "--checkpoint", "fast",
            "--no-password",
        ]  # fmt: skip
        if not has_slot:  # the failover monitor creates every member's slot on a new primary
            argv.append("--create-slot")
        error = self._run(argv, env=self._primary_env(primary))
        if error is not None:
            raise ServerStartError(
                f"pg_basebackup from {primary.host}:{primary.port} failed for {data_dir}",
                hint="check that the primary is up, reachable, and has this password "
                "and a free replication slot",
                log_tail=error,
            )

    def _rejoin(self, data_dir: Path, primary: Endpoint) -> None:
        """Turn a former primary into a standby of ``primary``.

        ``pg_rewind`` (which first runs crash recovery on a node that was killed)
        undoes whatever this node wrote that ``primary`` never received: commits
        that were never acknowledged. If it fails, the node is cloned afresh.
        """
        self._wait_for_primary(primary)
        argv = [
            self._bin("pg_rewind"),
            "--target-pgdata", str(data_dir),
            "--source-server", self._primary_dsn(primary),
        ]  # fmt: skip
        if not self.durable:
            argv.append("--no-sync")
        error = self._run(argv, env=self._primary_env(primary))
        if error is None:
            _write_secret_file(data_dir / "standby.signal", "", owner=self.run_as())
            self._point_at_primary(data_dir, primary)
            return
        self._empty(data_dir)
        try:
            self._clone(data_dir, primary)
        except ServerStartError as clone_error:
            raise ServerStartError(
                f"{data_dir} could not rejoin {primary.host}:{primary.port}: pg_rewind failed "
                f"({error}), then {clone_error.message}",
                hint=clone_error.hint,
            ) from None

    @staticmethod
    def _edit_auto_conf(data_dir: Path, drop: tuple[str, ...], add: list[str]) -> None:
        conf = data_dir / "postgresql.auto.conf"
        keep = [line for line in conf.read_text().splitlines() if not line.startswith(drop)]
        conf.write_text("\n".join(keep + add) + "\n")  # keeps the file's owner and mode 0600

    def _point_at_primary(self, data_dir: Path, primary: Endpoint) -> None:
        """Rewrite where an existing replica streams from: ports may change between runs."""
        # libpq quoting inside the value, then postgresql.conf quoting around it.
        secret = primary.secret.replace("\\", "\\\\").replace("'", "\\'")
        conninfo = (
            f"host={primary.host} port={primary.port} user={self.user} password='{secret}' "
            f"application_name={self.node_name or 'replica'}"
        ).replace("'", "''")
        self._edit_auto_conf(
            data_dir,
            ("primary_conninfo", "primary_slot_name"),
            [f"primary_conninfo = '{conninfo}'", f"primary_slot_name = '{self.slot_name}'"],
        )

    def prepare(self, data_dir: Path, endpoint: Endpoint) -> None:
        self._prepare_data(data_dir, endpoint)
        if endpoint.socket_dir is not None:
            prepare_owned_dir(Path(endpoint.socket_dir), self.run_as())
            self._local_password_auth(data_dir)
        if endpoint.host not in LOOPBACK_NAMES:
            self._network_password_auth(data_dir)

    def _network_password_auth(self, data_dir: Path) -> None:
        """Clients on the server's own subnets (the other hosts of a topology) log in
        with the password, replication included; initdb allows loopback only.

        ``samenet`` is PostgreSQL's "any subnet this server is directly connected
        to": the hosts' private subnet, nothing routed from elsewhere.
        """
        hba = data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        missing = [line for line in _SAMENET_HBA if line not in lines]
        if missing:
            _write_secret_file(hba, "\n".join([*lines, *missing]) + "\n", owner=self.run_as())

    def _local_password_auth(self, data_dir: Path) -> None:
        """Unix-socket clients log in with the password, as TCP ones do.

        initdb's ``peer`` (or ``trust``) for local connections suited a server
        with no socket; the socket serves other processes' clients, as root or
        any account, so they authenticate like everyone else.
        """
        hba = data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        wanted = [
            re.sub(r"\b(peer|trust)\s*$", "scram-sha-256", line)
            if line.startswith("local")
            else line
            for line in lines
        ]
        if wanted != lines:
            _write_secret_file(hba, "\n".join(wanted) + "\n", owner=self.run_as())

    @staticmethod
    def _system_identifier(data_dir: Path) -> int | None:
        """The cluster's system identifier, from ``global/pg_control`` (its first field)."""
        try:
            with open(data_dir / "global" / "pg_control", "rb") as control:
                return int(struct.unpack("=Q", control.read(8))[0])
        except (OSError, struct.error):
            return None

    def _primary_system_identifier(self, primary: Endpoint) -> int | None:
        try:
            with psycopg.connect(
                self._primary_dsn(primary), password=primary.secret, connect_timeout=2
            ) as conn:
                row = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()
        except psycopg.Error:
            return None  # unreachable: the standby keeps its data and retries on its own
        return int(row[0]) if row else None

    @staticmethod
    def _empty(data_dir: Path) -> None:
        for child in data_dir.iterdir():  # keep the directory itself: its owner and mode
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def _prepare_data(self, data_dir: Path, endpoint: Endpoint) -> None:
        """Make ``data_dir`` a node in the role it is given now, whatever it was before.

        A primary whose directory is a standby's (the topology, or the failover
        monitor's record, makes it the primary) drops ``standby.signal`` and says
        so. A standby cloned from another cluster (its system identifier is not
        its primary's: data from another run) is cloned afresh, as is a former
        primary that ``pg_rewind`` cannot rewind.
        """
        if (data_dir / "PG_VERSION").exists():
            # A switchover drains the old primary with ALTER SYSTEM; a new start undoes it.
            self._edit_auto_conf(data_dir, ("default_transaction_read_only",), [])
            standby = (data_dir / "standby.signal").exists()
            if self.primary is None:
                if standby:
                    (data_dir / "standby.signal").unlink()
                    log.warning(
                        f"{self.node_name or data_dir.name}: its data directory was a standby's; "
                        "it starts as the primary it is now (standby.signal removed)"
                    )
                return
            if not standby:
                self._rejoin(data_dir, self.primary)
                return
            ours, theirs = (
                self._system_identifier(data_dir),
                self._primary_system_identifier(self.primary),
            )
            if ours is not None and theirs is not None and ours != theirs:
                log.warning(
                    f"{self.node_name or data_dir.name}: its data is of another cluster "
                    f"(system identifier {ours}, its primary's {theirs}); cloning it afresh"
                )
                self._empty(data_dir)
                self._clone(data_dir, self.primary)
                return
            self._point_at_primary(data_dir, self.primary)
            return
        if self.primary is not None:
            self._clone(data_dir, self.primary)
            return
        run_as = self.run_as()
        pwfile = data_dir.parent / f".{data_dir.name}.pw"
        _write_secret_file(pwfile, endpoint.secret + "\n", owner=run_as)
        try:
            argv = [
                self._bin("initdb"),
                "--pgdata", str(data_dir),
                "--username", self.user,
                "--pwfile", str(pwfile),
                "--auth-local", "peer" if run_as else "trust",
                "--auth-host", "scram-sha-256",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-instructions",
            ]  # fmt: skip
            if not self.durable:
                argv.append("--no-sync")
            error = self._run(argv)
        finally:
            pwfile.unlink(missing_ok=True)
        if error is not None:
            raise ServerStartError(
                f"initdb failed for {data_dir}",
                hint="check that the data directory is empty and writable by the server account",
                log_tail=error,
            )

    def argv(self, data_dir: Path, endpoint: Endpoint) -> list[str]:
        settings = {
            "listen_addresses": endpoint.host,
            "port": str(endpoint.port),
            "unix_socket_directories": endpoint.socket_dir or "",
            "logging_collector": "off",
            # Ready for the data tier: streaming replicas and pg_rewind.
            "wal_level": "replica",
            "wal_log_hints": "on",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "hot_standby": "on",
            "hot_standby_feedback": "on",  # queries on replicas are not cancelled by vacuum
            # A standby whose primary vanished retries WAL every 5 s by default, and a
            # promotion requested during that sleep waits it out (5 s more failover).
            "wal_retrieve_retry_interval": "200ms",
        }
        if self.node_name:
            settings["cluster_name"] = self.node_name
        if not self.durable:
            settings |= {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
        settings |= self.settings
        argv = [self._bin("postgres"), "-D", str(data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def url(self, endpoint: Endpoint) -> str:
        secret = quote(endpoint.secret, safe="")
        return f"postgresql://{self.user}:{secret}@{endpoint.host}:{endpoint.port}/postgres"

    def socket_url(self, endpoint: Endpoint) -> str | None:
        if endpoint.socket_dir is None:
            return None
        secret = quote(endpoint.secret, safe="")
        where = quote(endpoint.socket_dir, safe="")
        return f"postgresql://{self.user}:{secret}@/postgres?host={where}&port={endpoint.port}"

    def probe(self, endpoint: Endpoint) -> bool:
        try:
            with psycopg.connect(
                self.url(endpoint), connect_timeout=max(1, int(PROBE_TIMEOUT_S))
            ) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True


@dataclass(frozen=True)
class RedisEngine(Engine):
    """Redis; ``durable=True`` turns on the append-only file, fsync every second."""

    name: ClassVar[str] = "redis"

    def prepare(self, data_dir: Path, endpoint: Endpoint) -> None:
        lines = {
            "bind": endpoint.host,
            "port": str(endpoint.port),
            "dir": str(data_dir),
            "daemonize": "no",
            "protected-mode": "yes",
            "logfile": '""',
            "save": '""',
            "appendonly": "yes" if self.durable else "no",
            "appendfsync": "everysec",
            "requirepass": endpoint.secret,
            **self.settings,
        }
        if endpoint.socket_dir is not None:
            prepare_owned_dir(Path(endpoint.socket_dir), self.run_as())
            lines |= {"unixsocket": self._socket(endpoint), "unixsocketperm": "700"}
        _write_secret_file(data_dir / "redis.conf", "".join(f"{k} {v}\n" for k, v in lines.items()))

    def argv(self, data_dir: Path, endpoint: Endpoint) -> list[str]:
        return [str(find_bindir("redis") / "redis-server"), str(data_dir / "redis.conf")]

    def url(self, endpoint: Endpoint) -> str:
        return f"redis://:{quote(endpoint.secret, safe='')}@{endpoint.host}:{endpoint.port}/0"

    @staticmethod
    def _socket(endpoint: Endpoint) -> str:
        assert endpoint.socket_dir is not None
        return f"{endpoint.socket_dir}/redis.sock"

    def socket_url(self, endpoint: Endpoint) -> str | None:
        if endpoint.socket_dir is None:
            return None
        return f"unix://:{quote(endpoint.secret, safe='')}@{self._socket(endpoint)}?db=0"

    def probe(self, endpoint: Endpoint) -> bool:
        client = redis.Redis.from_url(
            self.url(endpoint),
            socket_timeout=PROBE_TIMEOUT_S,
            socket_connect_timeout=PROBE_TIMEOUT_S,
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@dataclass(frozen=True)
class NatsEngine(Engine):
    """NATS with JetStream on; readiness is the monitoring port's ``/healthz``.
    JetStream writes to its store directory either way; ``durable`` is ignored.
    """

    name: ClassVar[str] = "nats"
    extra_ports: ClassVar[tuple[str, ...]] = ("monitor",)

    def prepare(self, data_dir: Path, endpoint: Endpoint) -> None:
        store = data_dir / "jetstream"
        store.mkdir(exist_ok=True)
        conf = (
            f'listen: "{endpoint.host}:{endpoint.port}"\n'
            f'http: "{endpoint.host}:{endpoint.ports["monitor"]}"\n'
            f'jetstream {{ store_dir: "{store}" }}\n'
            f'authorization {{ token: "{endpoint.secret}" }}\n'
        ) + "".join(f"{key}: {value}\n" for key, value in self.settings.items())
        _write_secret_file(data_dir / "nats.conf", conf)

    def argv(self, data_dir: Path, endpoint: Endpoint) -> list[str]:
        return [str(find_bindir("nats") / "nats-server"), "-c", str(data_dir / "nats.conf")]

    def url(self, endpoint: Endpoint) -> str:
        return f"nats://{quote(endpoint.secret, safe='')}@{endpoint.host}:{endpoint.port}"

    def probe(self, endpoint: Endpoint) -> bool:
        conn = http.client.HTTPConnection(
            endpoint.host, endpoint.ports["monitor"], timeout=PROBE_TIMEOUT_S
        )
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                conn.close()


ENGINE_TYPES: dict[str, type[Engine]] = {
    "postgres": PostgresEngine,
    "redis": RedisEngine,
    "nats": NatsEngine,
}


def engine_for(
    name: str, *, durable: bool = True, settings: dict[str, str] | None = None
) -> Engine:
    """The engine called ``name`` with the given durability and settings."""
    return ENGINE_TYPES[name](durable=durable, settings=dict(settings or {}))
