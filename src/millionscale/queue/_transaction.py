"""The one check that :mod:`.idempotency` and :mod:`.outbox` make of a caller's connection."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus

from millionscale.errors import QueueError

__all__ = ["require_transaction"]


def require_transaction(conn: AsyncConnection[Any], what: str) -> None:
    """Raise :class:`QueueError` if a statement on ``conn`` would commit on its own.

    An autocommit connection outside ``conn.transaction()`` commits every
    statement as it runs: a recorded key or an outbox row would then commit
    apart from the effect it stands for, and the guarantee would be lost. A
    connection that is not autocommit always runs in a transaction (psycopg
    opens one with the first statement), so it passes.
    """
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        raise QueueError(
            f"{what} needs the caller's transaction, and this autocommit connection has none",
            hint="call it inside `async with conn.transaction():`, with the write it goes with",
        )
