"""``millionscale db status``: every PostgreSQL node's role, position and lag, as PostgreSQL sees it.

The view is read from the nodes themselves, never from the topology's
intentions: a replica that was promoted shows as a primary, a node that does
not answer shows as unreachable. Lag is measured in bytes of WAL (exact: the
primary's current LSN minus what the replica has replayed) and in seconds
(the age of the last transaction replayed, which only means "behind" while the
primary is writing: an idle primary makes every replica look old, so the
seconds are shown only when the byte lag is not zero).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from rich.text import Text

from millionscale.db.lsn import parse_lsn
from millionscale.errors import first_line
from millionscale.render import Column, Records

__all__ = ["NodeAddress", "NodeStatus", "cluster_status", "node_records", "node_status"]

CONNECT_TIMEOUT_S = 2  # a node that cannot answer a query in 2 s is reported unreachable


@dataclass(frozen=True, slots=True)
class NodeAddress:
    """A node to ask: its name, ``host:port`` as shown, and a client URL (password included)."""

    name: str
    address: str
    url: str


@dataclass(frozen=True, slots=True)
class NodeStatus:
    name: str
    address: str
    role: str  # "primary", "replica" or "unreachable"
    lsn: str | None  # primary: current WAL LSN; replica: last replayed LSN
    receive_lsn: str | None  # replica: last WAL received
    lag_bytes: int | None  # replica: primary's LSN minus replayed LSN
    lag_s: float | None  # replica: age of the last replayed transaction, when lag_bytes > 0
    sync_state: str | None  # replica: as the primary reports it (sync, quorum, async)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def node_status(url: str) -> dict[str, Any]:
    """What the node at ``url`` says about itself (raw facts; :func:`cluster_status` joins them)."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SET statement_timeout = '2s'")
            row = conn.execute(
                "SELECT pg_is_in_recovery(),"
                " CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text"
                "      ELSE pg_current_wal_lsn()::text END,"
                " pg_last_wal_receive_lsn()::text,"
                " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8"
            ).fetchone()
            standbys = conn.execute(
                "SELECT application_name, sync_state, replay_lsn::text FROM pg_stat_replication"
            ).fetchall()
    except psycopg.Error as error:
        return {"error": f"{type(error).__name__}: {first_line(error)}"}
    assert row is not None
    return {
        "in_recovery": bool(row[0]),
        "lsn": row[1],
        "receive_lsn": row[2],
        "replay_age_s": row[3],
        "standbys": {name: (sync, replay) for name, sync, replay in standbys},
    }


def _lsn(text: str | None) -> int | None:
    return parse_lsn(text) if text else None


def cluster_status(addresses: Iterable[NodeAddress]) -> list[NodeStatus]:
    """Every node of ``addresses``, primaries first."""
    processes = list(addresses)
    facts = {p.name: node_status(p.url) for p in processes}
    primaries = {name: f for name, f in facts.items() if "error" not in f and not f["in_recovery"]}
    head = max((_lsn(f["lsn"]) or 0 for f in primaries.values()), default=None)
    sync_state = {
        standby: sync for f in primaries.values() for standby, (sync, _) in f["standbys"].items()
    }
    nodes = []
    for process in processes:
        fact = facts[process.name]
        if "error" in fact:
            nodes.append(
                NodeStatus(
                    name=process.name,
                    address=process.address,
                    role="unreachable",
                    lsn=None,
                    receive_lsn=None,
                    lag_bytes=None,
                    lag_s=None,
                    sync_state=None,
                    error=fact["error"],
                )
            )
            continue
        replica = fact["in_recovery"]
        replayed = _lsn(fact["lsn"])
        lag = head - replayed if replica and head is not None and replayed is not None else None
        nodes.append(
            NodeStatus(
                name=process.name,
                address=process.address,
                role="replica" if replica else "primary",
                lsn=fact["lsn"],
                receive_lsn=fact["receive_lsn"] if replica else None,
                lag_bytes=max(0, lag) if lag is not None else None,
                lag_s=fact["replay_age_s"] if replica and lag else (0.0 if replica else None),
                sync_state=sync_state.get(process.name) if replica else None,
            )
        )
    return sorted(nodes, key=lambda node: node.role != "primary")


def node_records(nodes: list[NodeStatus]) -> Records:
    """The nodes as ``db status`` lists them; why a node is unreachable goes in a note
    column of its own, so the identifying columns keep their width."""
    errors = any(node.error for node in nodes)
    columns: list[Column | str] = ["name", "address", "role", "lsn", Column("lag", right=True)]
    columns.append("sync")
    if errors:
        columns.append(Column("error", free_text=True))
    rows = []
    for node in nodes:
        lag = None
        if node.lag_bytes is not None:
            lag = f"{node.lag_bytes:,} B" + (f", {node.lag_s:.1f} s" if node.lag_bytes else "")
        role = Text(node.role, style="red" if node.error else "")
        row: list[str | Text | None] = [node.name, node.address, role, node.lsn, lag]
        row.append(node.sync_state)
        if errors:
            row.append(node.error or "")
        rows.append(row)
    return Records.of(columns, rows, title="PostgreSQL nodes")
