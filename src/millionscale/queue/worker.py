"""The worker runtime: takes jobs from a broker and runs their handlers.

A :class:`Worker` keeps at most ``concurrency`` jobs running, fetching only as
many as it has room for (a job fetched is a job whose ack deadline runs, so
none waits in a local buffer). Each delivery ends in exactly one of:

- **ack**: its handler returned;
- **nack with a delay**: its handler raised, and the
  :class:`~millionscale.queue.retry.RetryPolicy` says retry (backoff and jitter);
- **dead letter**, with a reason: the policy gave up (the last error is kept),
  or the message is not a job (:class:`~millionscale.queue.job.MalformedJob`),
  or no handler has its task, or it was delivered more often than the policy
  allows without ever answering (its worker died each time).

While a handler runs, the worker tells the broker so (``in_progress``) every
third of the ack deadline, so a long job is not delivered to a second worker.
A handler that outlives ``job_timeout_s`` is cancelled and counts as failed.

**Graceful shutdown** (:meth:`Worker.run` returns once ``stop`` is set): no new
fetch; running jobs get ``shutdown_s`` to finish; those still running then are
cancelled and nacked at once, so another worker takes them without waiting for
their deadline. A worker killed outright loses nothing either: its deliveries
come back after the ack deadline.

Handlers are ``async def handler(job) -> None``. A handler whose effect must
happen once claims the job's idempotency key in the transaction of its effect
(:mod:`.idempotency`): a job is delivered at least once, and may run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog

from millionscale.errors import QueueError, first_line
from millionscale.queue.broker import Broker, Delivery
from millionscale.queue.job import Job, MalformedJob, decode
from millionscale.queue.metrics import JOB_SECONDS, OUTCOMES, RUNNING, known_task
from millionscale.queue.retry import DeadLetter, RetryPolicy

__all__ = ["CONCURRENCY", "SHUTDOWN_S", "Handler", "Worker", "WorkerStatistics"]

log = structlog.get_logger()

Handler = Callable[[Job], Awaitable[None]]

CONCURRENCY = 8  # Dramatiq's default worker threads per process
SHUTDOWN_S = 10.0  # Kubernetes gives a pod 30 s; the worker's share of it
FETCH_WAIT_S = 1.0  # a fetch waits this long for a first job (then stop is looked at)
JOB_TIMEOUT_S = 600.0  # Dramatiq's time limit default is 10 minutes
OUTAGE_PAUSE_S = (0.1, 2.0)  # between fetches while the broker is down: first, at most


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    """What one worker did since it started."""

    running: int
    done: int
    retried: int
    dead_lettered: int
    redeliveries: int  # deliveries that were not a job's first
    interrupted: int  # running at shutdown, nacked for another worker


class Worker:
    """Runs ``handlers`` (task name → handler) on the jobs of ``broker``."""

    def __init__(
        self,
        broker: Broker,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = CONCURRENCY,
        policy: RetryPolicy | None = None,
        shutdown_s: float = SHUTDOWN_S,
        job_timeout_s: float = JOB_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1:
            raise QueueError(f"a worker's concurrency is at least 1, not {concurrency}")
        self.broker = broker
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.shutdown_s = shutdown_s
        self.job_timeout_s = job_timeout_s
        self._clock = clock
        self._rng = rng or random.Random()
        self._running: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._done = self._retried = self._dead = self._redeliveries = self._interrupted = 0

    def statistics(self) -> WorkerStatistics:
        return WorkerStatistics(
            len(self._running),
            self._done,
            self._retried,
            self._dead,
            self._redeliveries,
            self._interrupted,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Take and run jobs until ``stop`` is set; then shut down gracefully."""
        pause = OUTAGE_PAUSE_S[0]
        try:
            while not stop.is_set():
                room = self.concurrency - len(self._running)
                if room <= 0:
                    await self._wait_for_room(stop)
                    continue
                try:
                    deliveries = await self.broker.fetch(room, FETCH_WAIT_S)
                except QueueError as error:
                    log.warning(f"cannot fetch jobs: {error.one_line()}")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)
                    pause = min(pause * 2, OUTAGE_PAUSE_S[1])
                    continue
                pause = OUTAGE_PAUSE_S[0]
                for delivery in deliveries:
                    self._start(delivery)
        finally:
            await self._shut_down()

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._handle(delivery))
        self._running.add(task)
        RUNNING.inc()

        def finished(done: asyncio.Task[None]) -> None:
            self._running.discard(done)
            RUNNING.dec()
            self._room.set()

        task.add_done_callback(finished)

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        self._room.clear()
        stopping = asyncio.ensure_future(stop.wait())
        room = asyncio.ensure_future(self._room.wait())
        try:
            await asyncio.wait({stopping, room}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            room.cancel()

    async def _shut_down(self) -> None:
        if not self._running:
            return
        log.info(f"stopping: waiting up to {self.shutdown_s:g} s for {len(self._running)} jobs")
        _, pending = await asyncio.wait(set(self._running), timeout=self.shutdown_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.info(f"stopped: {len(pending)} unfinished jobs handed back to the queue")

    async def _handle(self, delivery: Delivery) -> None:
        if delivery.count > 1:
            self._redeliveries += 1
        try:
            await self._settle(delivery)
        except asyncio.CancelledError:
            self._interrupted += 1
            with contextlib.suppress(QueueError):
                await delivery.nack()
            raise
        except QueueError as error:
            # The broker did not take the outcome: the delivery comes back after its
            # deadline, and the job's idempotency key makes the second run a no-op.
            log.warning(f"a job's outcome did not reach the broker: {error.one_line()}")

    async def _settle(self, delivery: Delivery) -> None:
        overdue = self.policy.overdue(delivery.count)
        if overdue is not None:
            return await self._dead_letter(delivery, "unknown", overdue.reason)
        try:
            job = decode(delivery.data)
        except MalformedJob as error:
            return await self._dead_letter(delivery, "unknown", f"malformed: {error}")
        handler = self.handlers.get(job.task)
        if handler is None:
            return await self._dead_letter(
                delivery, "unknown", f"no handler for task {job.task!r} in this worker"
            )
        task = known_task(job.task, self.handlers)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.job_timeout_s):
                await self._with_heartbeat(handler(job), delivery)
        except TimeoutError:
            failed = f"TimeoutError: the job ran over its {self.job_timeout_s:g} s limit"
        except Exception as error:  # a handler's failure is the job's, never the worker's
            failed = f"{type(error).__name__}: {first_line(error)}"
        else:
            JOB_SECONDS.labels(task).observe(time.monotonic() - started)
            await delivery.ack()
            self._done += 1
            OUTCOMES.labels(task, "done").inc()
            return None
        decision = self.policy.after_failure(delivery.count, failed, self._rng)
        if isinstance(decision, DeadLetter):
            return await self._dead_letter(delivery, task, decision.reason, failed)
        log.info(f"job {job.id} ({job.task}): {decision.reason}", job=job.id, task=job.task)
        await delivery.nack(decision.delay_s)
        self._retried += 1
        OUTCOMES.labels(task, "retried").inc()
        return None

    async def _dead_letter(
        self, delivery: Delivery, task: str, reason: str, error: str = ""
    ) -> None:
        log.warning(f"dead letter: {reason}", task=task)
        await delivery.dead_letter(reason, error)
        self._dead += 1
        OUTCOMES.labels(task, "dead").inc()

    async def _with_heartbeat(self, work: Awaitable[None], delivery: Delivery) -> None:
        """Await ``work``, telling the broker it is in progress every third of the
        ack deadline (Sidekiq and JetStream's own advice for long jobs)."""
        every = max(0.05, self.broker.ack_wait_s / 3)
        job = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({job}, timeout=every)
                if done:
                    return job.result()
                with contextlib.suppress(QueueError):
                    await delivery.in_progress()
        finally:
            if not job.done():
                job.cancel()
                with contextlib.suppress(BaseException):
                    await job
