"""Idempotency keys, recorded in the same transaction as the effect they stand for.

The broker delivers at least once (:mod:`.broker`): a worker that dies after
its effect and before its ack, or that misses the ack deadline, sees the job
again. :func:`claim` turns that into exactly one effect, for every effect a
worker makes in PostgreSQL. The worker opens a transaction, claims the job's
key in it, and does the effect in that same transaction only when the claim
is new::

    async with conn.transaction():
        if await claim(conn, job):
            await conn.execute("UPDATE photos SET thumbnail_path = %s WHERE id = %s", ...)
    await delivery.ack()

The key and the effect commit together or not at all, so "key recorded" means
"effect done", and a delivery that finds the key recorded acks without doing
anything. An effect outside this database (an e-mail, a call to another
service) is not covered: give that service the key instead.

The key is :attr:`Job.idempotency_key <millionscale.queue.job.Job.idempotency_key>`:
the job's ``key``, or its id. Two jobs enqueued with one key are one effect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from millionscale.queue._transaction import require_transaction
from millionscale.queue.job import Job

__all__ = ["EFFECTS_SCHEMA", "claim", "create_effects_schema", "forget_before"]

EFFECTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_effects (
    key      text PRIMARY KEY,
    job_id   text NOT NULL,
    task     text NOT NULL,
    done_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS queue_effects_done_at ON queue_effects (done_at);
"""

_CLAIM = """
INSERT INTO queue_effects (key, job_id, task) VALUES (%s, %s, %s)
ON CONFLICT (key) DO NOTHING
RETURNING key
"""


async def create_effects_schema(conn: AsyncConnection[Any]) -> None:
    """Create ``queue_effects`` if it does not exist (idempotent; commits on an
    autocommit connection, else joins the caller's transaction)."""
    await conn.execute(EFFECTS_SCHEMA.encode())  # our own constant SQL, two statements


async def claim(conn: AsyncConnection[Any], job: Job) -> bool:
    """Record ``job``'s idempotency key in the caller's transaction: True the first
    time (do the effect now, in this transaction), False if it is done (skip it).

    The guarantee: the effect of one key happens exactly once, however many
    times and however concurrently its job is delivered. The key is the table's
    primary key, and ``INSERT ... ON CONFLICT DO NOTHING`` waits on the unique
    index for any other transaction that inserted the same key and has not
    ended. So when a redelivery arrives while the first delivery still runs,
    the second ``claim`` blocks until the first transaction commits (then it
    returns False: the effect is done) or rolls back (then it returns True and
    this transaction does the effect instead). Nothing is recorded unless the
    caller commits.

    At the default isolation, READ COMMITTED, that is the whole story. Under
    REPEATABLE READ or SERIALIZABLE, a claim that waited on a transaction that
    then committed raises ``psycopg.errors.SerializationFailure`` instead of
    returning False (the row is not in its snapshot); the worker's retry of the
    delivery then gets False. Either way the effect is never done twice.

    Raises :class:`~millionscale.errors.QueueError` on an autocommit connection
    outside a transaction, where the key would commit without the effect.
    """
    require_transaction(conn, "claim()")
    cursor = await conn.execute(_CLAIM, (job.idempotency_key, job.id, job.task))
    return await cursor.fetchone() is not None


async def forget_before(conn: AsyncConnection[Any], cutoff: datetime) -> int:
    """Drop keys whose effect was done before ``cutoff``; return how many.

    Retention, and only safe for keys that can no longer come back. A forgotten
    key's job, delivered again, runs its effect again. So ``cutoff`` must be
    older than the longest time a job with that key may still be delivered:
    its redeliveries and retries (:class:`~millionscale.queue.retry.RetryPolicy`:
    20 deliveries with waits capped at 10 minutes, a few hours in all), and a
    producer's re-enqueue of the same key. A dead letter keeps its key when it
    is retried (:meth:`Broker.retry <millionscale.queue.broker.Broker.retry>`),
    so keep keys at least as long as dead letters are kept too. A week is
    plenty for every task here; the table holds one short row per job.

    ``cutoff`` should be timezone-aware (a naive one is read in the session's
    time zone). Deletes in the caller's transaction, or on its own on an
    autocommit connection.
    """
    cursor = await conn.execute("DELETE FROM queue_effects WHERE done_at < %s", (cutoff,))
    return cursor.rowcount
