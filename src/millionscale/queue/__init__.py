"""The message queue: slow work off the request path, nothing lost, nothing done twice.

Being built (issue 16). Pure parts: :mod:`.job` (the job record and its
envelope), :mod:`.retry` (backoff, jitter, dead letters). :mod:`.broker` is
the interface a queue engine implements, with its contract.
"""

from millionscale.queue.autoscale import Autoscaler, AutoscalerStatistics, SupervisorWorkers
from millionscale.queue.broker import Accepted, Broker, DeadLetterEntry, Delivery, QueueStatus
from millionscale.queue.job import MAX_JOB_BYTES, Job, MalformedJob, decode, encode
from millionscale.queue.retry import DeadLetter, Retry, RetryPolicy
from millionscale.queue.scaler import Hold, Scale, Scaler, ScalerSettings, ScalerStatistics

__all__ = [
    "MAX_JOB_BYTES",
    "Accepted",
    "Autoscaler",
    "AutoscalerStatistics",
    "Broker",
    "DeadLetter",
    "DeadLetterEntry",
    "Delivery",
    "Hold",
    "Job",
    "MalformedJob",
    "QueueStatus",
    "Retry",
    "RetryPolicy",
    "Scale",
    "Scaler",
    "ScalerSettings",
    "ScalerStatistics",
    "SupervisorWorkers",
    "decode",
    "encode",
]
