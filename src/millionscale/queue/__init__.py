"""The message queue: slow work off the request path, nothing lost, nothing done twice.

Being built (issue 16). Pure parts: :mod:`.job` (the job record and its
envelope), :mod:`.retry` (backoff, jitter, dead letters). :mod:`.broker` is
the interface a queue engine implements, with its contract;
:mod:`.jetstream` implements it on NATS JetStream. :mod:`.worker` is the
worker runtime (concurrency, heartbeats, graceful shutdown), run as a process
by ``python -m millionscale.queue`` (:mod:`.__main__`); :mod:`.metrics` its
Prometheus metrics.
"""

from millionscale.queue.broker import Accepted, Broker, DeadLetterEntry, Delivery, QueueStatus
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.queue.job import MAX_JOB_BYTES, Job, MalformedJob, decode, encode
from millionscale.queue.retry import DeadLetter, Retry, RetryPolicy
from millionscale.queue.worker import Handler, Worker, WorkerStatistics

__all__ = [
    "MAX_JOB_BYTES",
    "Accepted",
    "Broker",
    "DeadLetter",
    "DeadLetterEntry",
    "Delivery",
    "Handler",
    "JetStreamBroker",
    "Job",
    "MalformedJob",
    "QueueStatus",
    "Retry",
    "RetryPolicy",
    "Worker",
    "WorkerStatistics",
    "decode",
    "encode",
]
