"""The failover monitor on PostgreSQL nodes started by hand: no supervisor, no topology.

The nodes are started with :mod:`millionscale.servers` (a primary ``main`` and
two streaming replicas), listed in a discovery snapshot file
(:class:`~millionscale.discovery.StaticDiscovery`), and fenced by an operator's
script through :class:`~millionscale.db.fencing.CommandFencer`: what a user
running the data tier under their own supervisor would do. The monitor is
built from its command line, as ``python -m millionscale.db.monitor`` builds it.
"""

import asyncio
import json
import signal
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from millionscale.db.cluster import PRIMARY_ROLE, cluster_from, read_record
from millionscale.db.failover import State
from millionscale.db.monitor import DRAIN_WAIT_S, Monitor, build_monitor, parser
from millionscale.db.testing import Cluster, replicated_cluster
from millionscale.discovery import Member, Snapshot, StaticDiscovery
from millionscale.errors import DatabaseError
from millionscale.servers.process import signal_tree

pytestmark = pytest.mark.integration

DEADLINE_S = 60.0  # a failover takes about a second here; this bounds every wait

FENCE_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from millionscale.servers.process import pid_alive, signal_tree

    action, node = sys.argv[1], sys.argv[2]
    pid = json.load(open(sys.argv[0] + ".pids"))[node]
    if pid_alive(pid):
        if action == "fence":
            signal_tree(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGINT)
        for _ in range(1000):
            if not pid_alive(pid):
                break
            time.sleep(0.01)
    sys.exit(1 if pid_alive(pid) else 0)
    """
)


def _snapshot(cluster: Cluster) -> Snapshot:
    """The three nodes as an operator lists them: tier db, configured roles."""
    nodes = {"main": cluster.primary, **cluster.replicas}
    return Snapshot(
        1,
        tuple(
            Member(
                name=name,
                tier="db",
                host=server.host,
                ports={"main": server.port},
                role="primary" if name == "main" else "replica",
            )
            for name, server in nodes.items()
        ),
    )


def _monitor(cluster: Cluster, tmp_path: Path) -> Monitor:
    nodes = tmp_path / "nodes.json"
    nodes.write_text(_snapshot(cluster).dumps())
    script = tmp_path / "fence.py"
    script.write_text(FENCE_SCRIPT)
    pids = {"main": cluster.primary.pid} | {n: s.pid for n, s in cluster.replicas.items()}
    Path(f"{script}.pids").write_text(json.dumps(pids))
    (tmp_path / "token").write_text("s3cret\n")
    (tmp_path / "token").chmod(0o600)  # a token open to others is refused
    (tmp_path / "password").write_text(cluster.primary.endpoint.secret + "\n")
    (tmp_path / "password").chmod(0o600)  # as the token: a secret open to others is refused
    args = parser().parse_args(
        [
            "--discovery",
            f"file:{nodes}",
            "--record",
            str(tmp_path / "db-cluster.json"),
            "--fence",
            f"millionscale.db.fencing:command_fencer={sys.executable} {script}",
            "--token-file",
            str(tmp_path / "token"),
            "--password-file",
            str(tmp_path / "password"),
            "--port",
            "1",  # not served here: the loop runs without its admin API
            "--interval",
            "0.1",
            "--failover-timeout",
            "1",
        ]
    )
    monitor, token = build_monitor(args)
    assert token == "s3cret"
    return monitor


async def _until(check, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S:g} s: {what}")
        await asyncio.sleep(0.05)


def _in_recovery(url: str) -> bool:
    with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    assert row is not None
    return bool(row[0])


def test_a_replica_is_promoted_when_the_primary_started_by_hand_is_killed(tmp_path: Path):
    with replicated_cluster("r1", "r2") as cluster:
        cluster.sql("main", "CREATE TABLE acked AS SELECT 42 AS id")
        monitor = _monitor(cluster, tmp_path)

        async def scenario() -> None:
            stop = asyncio.Event()
            loop = asyncio.create_task(monitor.run(stop))
            await _until(lambda: monitor.ready, "the first round of checks")
            await _until(
                lambda: all(
                    r.is_standby and r.streaming
                    for name, r in monitor.reports.items()
                    if name != "main"
                ),
                "both replicas stream from main",
            )
            signal_tree(cluster.primary.pid, signal.SIGKILL)
            await _until(
                lambda: monitor.core.record.epoch == 2 and monitor.core.state is State.HEALTHY,
                "a replica promoted at epoch 2",
            )
            promoted = monitor.cluster.nodes[monitor.core.record.primary]
            other = next(n for n in cluster.replicas if n != promoted.name)
            await _until(
                lambda: (
                    monitor.reports[other].upstream == promoted.address
                    and monitor.reports[other].streaming
                ),
                f"{other} streams from {promoted.name}",
            )
            stop.set()
            await loop

        asyncio.run(scenario())

        record = read_record(tmp_path / "db-cluster.json")
        assert record is not None
        assert record.epoch == 2
        assert record.primary in {"r1", "r2"}
        promoted = cluster.replicas[record.primary]
        assert not _in_recovery(promoted.url)
        with psycopg.connect(promoted.url, autocommit=True) as conn:
            assert conn.execute("SELECT id FROM acked").fetchall() == [(42,)]
        claims = StaticDiscovery.from_file(tmp_path / "nodes.json")
        roles = asyncio.run(claims.snapshot()).roles
        assert roles[PRIMARY_ROLE].holder == record.primary
        assert roles[PRIMARY_ROLE].epoch == 2


class FlakyFencer:
    """Refuses to fence (an unreachable PDU, say) ``failures`` times, then kills."""

    def __init__(self, cluster: Cluster, failures: int) -> None:
        self.servers = {"main": cluster.primary, **cluster.replicas}
        self.failures = failures
        self.asked: list[str] = []

    async def fence(self, node: str) -> str:
        self.asked.append(node)
        if len(self.asked) <= self.failures:
            raise DatabaseError(f"cannot reach {node}'s PDU", hint="check the PDU")
        signal_tree(self.servers[node].pid, signal.SIGKILL)
        return f"killed {node}"

    async def shut_down(self, node: str, within_s: float) -> str | None:
        return "not asked in this test"


def test_no_standby_is_promoted_until_the_fence_succeeds(tmp_path: Path):
    with replicated_cluster("r1", "r2") as cluster:
        discovery = StaticDiscovery(_snapshot(cluster))
        nodes = cluster_from(
            asyncio.run(discovery.snapshot()), password=cluster.primary.endpoint.secret
        )
        fencer = FlakyFencer(cluster, failures=2)
        monitor = Monitor(
            nodes,
            tmp_path / "db-cluster.json",
            fencer,
            registry=discovery,
            interval_s=0.1,
            failover_timeout_s=1.0,
        )
        epochs_while_unfenced: list[int] = []

        async def scenario() -> None:
            stop = asyncio.Event()
            loop = asyncio.create_task(monitor.run(stop))
            await _until(lambda: monitor.ready, "the first round of checks")
            # Pause the primary: it still runs, so only a fence makes promoting safe.
            signal_tree(cluster.primary.pid, signal.SIGSTOP)

            def fenced() -> bool:
                if len(fencer.asked) <= fencer.failures:
                    epochs_while_unfenced.append(monitor.core.record.epoch)
                return len(fencer.asked) > fencer.failures

            await _until(fenced, "a third fence attempt")
            await _until(
                lambda: monitor.core.record.epoch == 2 and monitor.core.state is State.HEALTHY,
                "a replica promoted once the fence succeeded",
            )
            stop.set()
            await loop

        try:
            asyncio.run(scenario())
        finally:
            signal_tree(cluster.primary.pid, signal.SIGCONT)

        assert fencer.asked == ["main", "main", "main"]
        assert set(epochs_while_unfenced) == {1}
        claim = asyncio.run(discovery.snapshot()).roles[PRIMARY_ROLE]
        assert (claim.holder, claim.epoch) == (monitor.core.record.primary, 2)
        assert not _in_recovery(cluster.replicas[claim.holder].url)


def test_a_switchover_waits_out_the_transactions_begun_before_its_drain(tmp_path: Path):
    """A transaction begun before the drain stays read-write: the switchover lets one
    that commits soon commit (its clean shutdown would cut a COMMIT, an ambiguous error
    for the client) and ends one still open after ``DRAIN_WAIT_S`` before it shuts the
    primary down, so the open one never commits."""
    with replicated_cluster("r1") as cluster:
        cluster.sql("main", "CREATE TABLE drained (id int PRIMARY KEY)")
        monitor = _monitor(cluster, tmp_path)
        committing = psycopg.connect(cluster.primary.url)
        committing.execute("INSERT INTO drained VALUES (1)")  # open, read-write
        lingering = psycopg.connect(cluster.primary.url)
        lingering.execute("INSERT INTO drained VALUES (2)")  # open, never committed in time

        async def scenario() -> None:
            stop = asyncio.Event()
            loop = asyncio.create_task(monitor.run(stop))
            await _until(
                lambda: monitor.ready and monitor.reports["r1"].streaming, "r1 streams from main"
            )

            async def commit_soon() -> None:
                # later than the old primary's shutdown would come without the wait,
                # within DRAIN_WAIT_S
                await asyncio.sleep(DRAIN_WAIT_S * 0.7)
                await asyncio.to_thread(committing.commit)

            committer = asyncio.create_task(commit_soon())
            await monitor.switchover("r1")
            await committer  # committed: its COMMIT was not cut
            await _until(
                lambda: monitor.core.record.primary == "r1" and monitor.core.state is State.HEALTHY,
                "r1 promoted",
            )
            stop.set()
            await loop

        try:
            asyncio.run(scenario())
            with pytest.raises(psycopg.OperationalError):
                lingering.commit()  # its backend was terminated by the drain
        finally:
            committing.close()
            lingering.close()
        with psycopg.connect(cluster.replicas["r1"].url, autocommit=True) as conn:
            assert conn.execute("SELECT id FROM drained").fetchall() == [(1,)]
