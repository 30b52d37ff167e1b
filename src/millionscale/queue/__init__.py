"""The message queue: slow work off the request path, nothing lost, nothing done twice.

Being built (issue 16). Pure parts: :mod:`.job` (the job record and its
envelope), :mod:`.retry` (backoff, jitter, dead letters). :mod:`.broker` is
the interface a queue engine implements, with its contract.
"""

from millionscale.queue.broker import Accepted, Broker, DeadLetterEntry, Delivery, QueueStatus
from millionscale.queue.job import MAX_JOB_BYTES, Job, MalformedJob, decode, encode
from millionscale.queue.retry import DeadLetter, Retry, RetryPolicy

__all__ = [
    "MAX_JOB_BYTES",
    "Accepted",
    "Broker",
    "DeadLetter",
    "DeadLetterEntry",
    "Delivery",
    "Job",
    "MalformedJob",
    "QueueStatus",
    "Retry",
    "RetryPolicy",
    "decode",
    "encode",
]
