"""The data tier's client side: route writes to the primary and reads to replicas.

Layers, bottom up:

- :mod:`.lsn` parses and formats PostgreSQL WAL positions;
- :mod:`.staleness` bounds a replica's staleness from the primary's positions;
- :mod:`.routing` is the decision (pure): which node serves a read or a write;
- :mod:`.session` is what a user's session keeps for read-your-writes;
- :mod:`.router` is the thin asyncio shell: psycopg pools, a health poller.
"""

from millionscale.db.lsn import LSN_MAX, format_lsn, parse_lsn
from millionscale.db.router import READ_YOUR_WRITES, Router, RouterStatistics
from millionscale.db.routing import (
    BoundedStaleness,
    Consistency,
    Decision,
    Eventual,
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    RoutingPolicy,
    Strong,
    UseNode,
    WaitForPrimary,
    WaitUntil,
)
from millionscale.db.session import Session
from millionscale.db.staleness import LsnSample, keep_recent, staleness_bound

__all__ = [
    "LSN_MAX",
    "READ_YOUR_WRITES",
    "BoundedStaleness",
    "Consistency",
    "Decision",
    "Eventual",
    "LsnSample",
    "NodeState",
    "ReadYourWrites",
    "Role",
    "Router",
    "RouterStatistics",
    "Routing",
    "RoutingPolicy",
    "Session",
    "Strong",
    "UseNode",
    "WaitForPrimary",
    "WaitUntil",
    "format_lsn",
    "keep_recent",
    "parse_lsn",
    "staleness_bound",
]
