"""The message queue: slow work off the request path, nothing lost, nothing done twice.

Being built (issue 16). Pure parts: :mod:`.job` (the job record and its
envelope), :mod:`.retry` (backoff, jitter, dead letters), :mod:`.outage`
(when to try a failed dependency again). :mod:`.broker` is the interface a
queue engine implements, with its contract; :mod:`.jetstream` implements it
on NATS JetStream. :mod:`.worker` is the worker runtime (concurrency,
heartbeats, graceful shutdown), run as a process by ``python -m
millionscale.queue``; :mod:`.metrics` its Prometheus metrics; :mod:`.scaler`
decides how many workers to run, :mod:`.rate` measures what one worker completes per
second, :mod:`.autoscale` applies it. In PostgreSQL, beside the app's
own tables: :mod:`.outbox` (a job enqueued by a transaction is sent if and
only if it commits, and :class:`OutboxRelay` sends it) and :mod:`.idempotency`
(a job's effect recorded with its key, so a redelivery does nothing).
"""

from millionscale.queue.autoscale import Autoscaler, AutoscalerStatistics, SupervisorWorkers
from millionscale.queue.broker import Accepted, Broker, DeadLetterEntry, Delivery, QueueStatus
from millionscale.queue.idempotency import (
    EFFECTS_SCHEMA,
    claim,
    create_effects_schema,
    forget_before,
)
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.queue.job import MAX_JOB_BYTES, Job, MalformedJob, decode, encode
from millionscale.queue.outbox import (
    OUTBOX_SCHEMA,
    OutboxRelay,
    OutboxStatistics,
    Relayed,
    create_outbox_schema,
    enqueue_in,
)
from millionscale.queue.rate import WorkerRate
from millionscale.queue.retry import DeadLetter, Retry, RetryPolicy
from millionscale.queue.scaler import Hold, Scale, Scaler, ScalerSettings, ScalerStatistics
from millionscale.queue.worker import Handler, Worker, WorkerStatistics

__all__ = [
    "EFFECTS_SCHEMA",
    "MAX_JOB_BYTES",
    "OUTBOX_SCHEMA",
    "Accepted",
    "Autoscaler",
    "AutoscalerStatistics",
    "Broker",
    "DeadLetter",
    "DeadLetterEntry",
    "Delivery",
    "Handler",
    "Hold",
    "JetStreamBroker",
    "Job",
    "MalformedJob",
    "OutboxRelay",
    "OutboxStatistics",
    "QueueStatus",
    "Relayed",
    "Retry",
    "RetryPolicy",
    "Scale",
    "Scaler",
    "ScalerSettings",
    "ScalerStatistics",
    "SupervisorWorkers",
    "Worker",
    "WorkerRate",
    "WorkerStatistics",
    "claim",
    "create_effects_schema",
    "create_outbox_schema",
    "decode",
    "encode",
    "enqueue_in",
    "forget_before",
]
