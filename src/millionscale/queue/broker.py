"""The broker interface: the contract a queue engine keeps for producers and workers.

:class:`Broker` is what :mod:`.worker`, :mod:`.outbox` and the CLI use;
:class:`millionscale.queue.jetstream.JetStreamBroker` implements it on NATS
JetStream. Another engine (RabbitMQ quorum queues, Redis Streams) implements
the same methods with the same guarantees:

- **Publisher confirms.** :meth:`Broker.publish` returns only once the broker
  has stored the job durably (on its disk, or on a quorum of its nodes); an
  exception means it may or may not be stored, and publishing the *same*
  job again (same ``id``) stores it at most once within
  :attr:`Broker.dedup_window_s`.
- **At-least-once delivery.** A stored job is delivered until a worker acks it
  or it is dead-lettered. A delivery not acked, nacked or extended within
  :attr:`Broker.ack_wait_s` is delivered again (to any worker), so a worker
  that dies mid-job loses nothing; the job may then run twice, which is what
  idempotency keys are for (:mod:`.idempotency`).
- **Delivery counts.** :attr:`Delivery.count` is 1 on the first delivery and
  grows with every redelivery, after a nack or an expired ack deadline.
- **Delayed jobs.** A job with ``not_before`` is not delivered before then
  (to within a second).
- **Dead letters** are durable, listed oldest first, each with the reason and
  the last error, and :meth:`Broker.retry` puts one back as a new job with its
  original id and key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from millionscale.queue.job import Job

__all__ = ["Accepted", "Broker", "DeadLetterEntry", "Delivery", "QueueStatus"]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A publish the broker confirmed: where it stored the job, or that it had it."""

    sequence: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The queue at one instant (``millionscale queue status``, the scaler's input)."""

    ready: int  # stored, not yet delivered (or due again)
    in_flight: int  # delivered, not yet acked
    delayed: int  # waiting for their not_before
    dead_letters: int
    oldest_age_s: float  # age of the oldest job not done; 0 when there is none
    redelivered: int  # deliveries in flight that are not first deliveries
    # Jobs the queue is done with since it was made (acked: done, dead-lettered, or a
    # delayed job moved to ready), cumulative; the scaler's rate. None: not counted.
    finished: int | None = None

    @property
    def depth(self) -> int:
        """Jobs not done yet and due: the work waiting for workers."""
        return self.ready + self.in_flight


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """A job given up on, with why."""

    id: int  # the dead-letter's own number: ``queue retry ID``
    job: Job | None  # None when the message was not a job (then ``raw`` holds it)
    raw: bytes
    reason: str
    error: str
    deliveries: int
    dead_at: float


class Delivery(Protocol):
    """One delivery of a message to a worker. Exactly one of ack, nack and
    dead_letter ends it; in_progress extends its ack deadline."""

    @property
    def data(self) -> bytes: ...

    @property
    def count(self) -> int:
        """1 on the first delivery; grows with each redelivery."""
        ...

    async def ack(self) -> None:
        """Done: never delivered again."""
        ...

    async def nack(self, delay_s: float = 0.0) -> None:
        """Not done: deliver again after ``delay_s``."""
        ...

    async def in_progress(self) -> None:
        """Still working: the ack deadline starts again from now."""
        ...

    async def dead_letter(self, reason: str, error: str = "") -> None:
        """Give up: store it in dead letters (confirmed), then end this delivery."""
        ...


class Broker(Protocol):
    """A durable job queue; see the module docstring for the contract."""

    ack_wait_s: float
    dedup_window_s: float

    async def publish(self, job: Job) -> Accepted:
        """Store ``job`` (delayed if it has ``not_before``); return once it is durable."""
        ...

    async def fetch(self, batch: int, timeout_s: float) -> Sequence[Delivery]:
        """Up to ``batch`` due deliveries, waiting at most ``timeout_s`` for the first."""
        ...

    async def status(self) -> QueueStatus: ...

    async def dead_letters(self, limit: int = 100) -> Sequence[DeadLetterEntry]:
        """The oldest ``limit`` dead letters."""
        ...

    async def retry(self, entry_id: int) -> Job:
        """Put dead letter ``entry_id`` back on the queue; the job republished.
        Raises :class:`millionscale.errors.QueueError` if there is no such entry
        or it holds no job."""
        ...

    async def close(self) -> None: ...
