"""The worker process.

    QUEUE_URL=nats://TOKEN@127.0.0.1:4222 python -m millionscale.queue \\
        --tasks MODULE:FACTORY[=ARG] [--concurrency 8] [--queue jobs] \\
        [--host 127.0.0.1 --port 0] [--name worker-1] [--shutdown-s 10] \\
        [--max-deliveries 20] [--ack-wait-s 30] [--status-gauges]

Runs a :class:`~millionscale.queue.worker.Worker` on the queue at
``QUEUE_URL`` (in the environment, not on the command line: it holds the
broker's token). ``--tasks`` names the handlers: ``FACTORY(ARG)`` (or
``FACTORY()``) returns an async context manager that yields a mapping of task
name to ``async def handler(job)``; it opens what the handlers need (a
database pool) and closes it at the end. ``--port`` serves ``/healthz``,
``/readyz`` (ready once connected to the broker) and ``/metrics``: the
worker's own jobs, and with ``--status-gauges`` the queue's depth and oldest
age too, read every :data:`STATUS_EVERY_S` (give it to one worker where no
autoscaler runs: the autoscaler exports them, and each worker reading them
would be the same reading N times, 4 broker requests each).

SIGTERM or SIGINT stops it gracefully: no new job is taken, running ones get
``--shutdown-s`` seconds, the rest go back to the queue. A bad flag exits 2
with one line; logs are JSON lines on stderr.

    QUEUE_URL=... python -m millionscale.queue autoscale --workers worker \
        --discovery unix:PATH [--min 1] [--max 8] [--interval-s 5] [--queue jobs] \
        [--host 127.0.0.1 --port 0] [--name autoscaler]

runs the :class:`~millionscale.queue.autoscale.Autoscaler` instead: every
``--interval-s`` it reads the queue's status and scales the replicated process
``--workers`` between ``--min`` and ``--max`` through the supervisor's control
endpoint ``--discovery`` (a topology passes ``{discovery}``; the admin token
comes from the file the supervisor names in the environment). Its ``/metrics``
has the queue's depth and oldest age, from each of those readings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import structlog

from millionscale.aio import FlagParser
from millionscale.discovery import HttpDiscovery, connect
from millionscale.entrypoint import load_factory
from millionscale.errors import ConfigError, QueueError
from millionscale.obs.admin import admin_app, listen, run_admin_process, serve_app
from millionscale.queue.autoscale import INTERVAL_S, Autoscaler
from millionscale.queue.jetstream import ACK_WAIT_S, JetStreamBroker
from millionscale.queue.metrics import observing
from millionscale.queue.retry import RetryPolicy
from millionscale.queue.scaler import Scaler, ScalerSettings
from millionscale.queue.worker import CONCURRENCY, SHUTDOWN_S, Handler, Worker

__all__ = ["URL_ENV", "load_tasks", "main"]

URL_ENV = "QUEUE_URL"
STATUS_EVERY_S = 2.0
TASKS_EXAMPLE = "millionscale.photos.jobs:tasks"

log = structlog.get_logger()

TaskFactory = AbstractAsyncContextManager[Mapping[str, Handler]]


def load_tasks(spec: str) -> TaskFactory:
    """The task set ``--tasks`` names, not opened yet; ConfigError if it does not load."""
    factory, arg = load_factory(spec, flag="--tasks", example=TASKS_EXAMPLE)
    try:
        tasks = factory(arg) if arg is not None else factory()
    except (TypeError, ValueError) as error:
        raise ConfigError(f"--tasks {spec!r} refused: {error}") from None
    if not (hasattr(tasks, "__aenter__") and hasattr(tasks, "__aexit__")):
        raise ConfigError(
            f"--tasks {spec!r} built a {type(tasks).__name__}, not an async context manager",
            hint="the factory returns an async context manager yielding {task: handler}",
        )
    return tasks  # type: ignore[no-any-return]


async def _watch_status(broker: JetStreamBroker, queue: str, stop: asyncio.Event) -> None:
    """The queue's gauges every :data:`STATUS_EVERY_S` (a worker with ``--status-gauges``)."""
    read = observing(queue, broker.status)
    while not stop.is_set():
        with contextlib.suppress(QueueError):
            await read()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)


@dataclass(frozen=True, slots=True)
class _Process:
    """What the worker and the autoscaler share: ``stop``, set by SIGTERM or SIGINT,
    and the health and metrics endpoint's socket, bound before anything connects (a
    port that is taken is one line and exit 2)."""

    stop: asyncio.Event
    admin: socket.socket

    @classmethod
    def start(cls, args: argparse.Namespace, what: str) -> _Process:
        # Not a line per request to the control endpoint (the autoscaler's, and a
        # worker's tasks following the db tier through discovery).
        logging.getLogger("httpx").setLevel(logging.WARNING)
        admin = listen(args.host, args.port, what)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return cls(stop, admin)

    async def serve(self, *work: Awaitable[None]) -> None:
        """Run ``work`` beside ``/healthz``, ``/readyz`` (ready: the endpoint answers
        only once the caller is connected) and ``/metrics``, until ``stop`` ends it all."""
        app = admin_app([], token="")  # health and metrics only: no guarded route
        await asyncio.gather(*work, serve_app(app, self.admin, stop=self.stop))


async def run(args: argparse.Namespace, url: str, tasks: TaskFactory) -> None:
    process = _Process.start(args, "worker's health and metrics")
    broker = await JetStreamBroker.connect(
        url, args.queue, ack_wait_s=args.ack_wait_s, name=args.name
    )
    try:
        async with tasks as handlers:
            worker = Worker(
                broker,
                handlers,
                concurrency=args.concurrency,
                policy=RetryPolicy(max_deliveries=args.max_deliveries),
                shutdown_s=args.shutdown_s,
            )
            log.info(
                f"working on {broker.address} queue {args.queue}: "
                f"{', '.join(sorted(handlers)) or 'no tasks'}",
                concurrency=args.concurrency,
            )
            work = [worker.run(process.stop)]
            if args.status_gauges:
                work.append(_watch_status(broker, args.queue, process.stop))
            await process.serve(*work)
            log.info("stopped", **_as_dict(worker))
    finally:
        await broker.close()


def _as_dict(worker: Worker) -> dict[str, Any]:
    stats = worker.statistics()
    return {name: getattr(stats, name) for name in stats.__slots__}


async def autoscale(args: argparse.Namespace, url: str) -> None:
    process = _Process.start(args, "autoscaler's health and metrics")
    control = connect(args.discovery)
    if not isinstance(control, HttpDiscovery):
        raise ConfigError(
            f"--discovery {args.discovery!r} is not the supervisor's control endpoint",
            hint="say unix:PATH ({discovery} in a topology)",
        )
    broker = await JetStreamBroker.connect(url, args.queue, name=args.name)

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.stop.wait(), seconds)

    settings = ScalerSettings(min_workers=args.min, max_workers=args.max)
    scaler = Autoscaler.through_supervisor(
        control,
        args.workers,
        observing(args.queue, broker.status),  # the queue's gauges, once per queue
        Scaler(settings),
        interval_s=args.interval_s,
        sleep=pause,
    )
    log.info(f"scaling {args.workers} from {args.min} to {args.max} workers on {broker.address}")
    try:
        await process.serve(scaler.run(process.stop))
    finally:
        await broker.close()


def autoscale_main(argv: list[str]) -> int:
    parser = FlagParser(
        prog="millionscale-autoscaler",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--workers", required=True, help="the replicated process to scale")
    parser.add_argument("--discovery", required=True, help="unix:PATH of the control endpoint")
    parser.add_argument("--min", type=int, default=ScalerSettings().min_workers)
    parser.add_argument("--max", type=int, default=ScalerSettings().max_workers)
    parser.add_argument("--interval-s", type=float, default=INTERVAL_S)
    parser.add_argument("--queue", default="jobs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="autoscaler")
    args = parser.parse_args(argv)
    try:
        ScalerSettings(min_workers=args.min, max_workers=args.max)
    except ConfigError as error:
        parser.error(error.one_line())
    if not 0 < args.interval_s <= 3600:
        parser.error("--interval-s is seconds, above 0 and at most 3600")
    url = os.environ.get(URL_ENV, "")
    if not url:
        parser.error(f"{URL_ENV} is not set: the broker's nats:// URL")
    return run_admin_process(parser, args, None, lambda _token: (args.name, autoscale(args, url)))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["autoscale"]:
        return autoscale_main(argv[1:])
    parser = FlagParser(
        prog="millionscale-worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", required=True, help="MODULE:FACTORY[=ARG]")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--queue", default="jobs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="worker")
    parser.add_argument("--shutdown-s", type=float, default=SHUTDOWN_S)
    parser.add_argument("--max-deliveries", type=int, default=RetryPolicy().max_deliveries)
    parser.add_argument("--ack-wait-s", type=float, default=ACK_WAIT_S)
    parser.add_argument(
        "--status-gauges",
        action="store_true",
        help="export the queue's depth and oldest age (one worker, where no autoscaler runs)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 10_000:
        parser.error(f"--concurrency {args.concurrency} is not 1 to 10000")
    if args.max_deliveries < 1:
        parser.error("--max-deliveries must be at least 1")
    if not 0 < args.ack_wait_s <= 3600 or not 0 <= args.shutdown_s <= 3600:
        parser.error("--ack-wait-s and --shutdown-s are seconds, 0 to 3600")
    url = os.environ.get(URL_ENV, "")
    if not url:
        parser.error(f"{URL_ENV} is not set: the broker's nats:// URL")

    def start(_token: str) -> tuple[str, Coroutine[Any, Any, None]]:
        return args.name, run(args, url, load_tasks(args.tasks))  # ConfigError: exit 2

    return run_admin_process(parser, args, None, start)


if __name__ == "__main__":
    raise SystemExit(main())
