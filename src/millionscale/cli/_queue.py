"""``millionscale queue``: the message queue's depth, its dead letters, and retries.

The broker is the running topology's process with ``engine = "nats"`` in tier
``queue`` (the first, if a topology had several), or the one ``--url`` names
(or ``QUEUE_URL``, the worker's own variable), which wins when given: a broker
outside any topology. Its URL holds its token: the commands print the broker's
address without it (:func:`millionscale.queue.jetstream.redact`), in their
answers and their errors alike.

A broker on a host sits on the topology's private subnet, where the root
namespace has no route, and NATS has no Unix socket: the commands connect from
inside the broker's own network namespace (a short-lived thread that enters it
runs the whole client there, :func:`millionscale.servers.netns.run_in`), as the
supervisor probes it.

``queue status`` also lists the topology's workers (its processes of tier
``worker``) as the supervisor sees them: its view, not the broker's, so a worker
that hangs shows as the supervisor last probed it. With
``--url`` there is no topology to ask, and no list.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from rich.text import Text

from millionscale.cli._console import console, err_console
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.errors import ConfigError, QueueError, TopologyError
from millionscale.render import Cell, Column, Records
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir

if TYPE_CHECKING:
    from millionscale.queue.broker import DeadLetterEntry, QueueStatus
    from millionscale.queue.jetstream import JetStreamBroker
    from millionscale.queue.job import Job
    from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology

T = TypeVar("T")

TIER = "queue"  # the broker's tier, as the topology files name it
ENGINE = "nats"
WORKER_TIER = "worker"
QUEUE = "jobs"  # JetStreamBroker.connect's default, and the worker's --queue default
URL_SCHEMES = ("nats", "tls")  # what nats-py connects to
CLIENT_NAME = "millionscale-cli"  # how the broker's connection list names us
LIMIT = 20  # dead letters listed by default: a screenful
MAX_LIMIT = 10_000  # each is one request to the broker

queue_app = typer.Typer(
    help="The message queue: its depth, its workers, dead letters and their retry.",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="QUEUE_URL",
        help="A broker outside the running topology: nats://TOKEN@HOST:PORT (never printed).",
    ),
]
QueueOption = Annotated[str, typer.Option("--queue", help="The queue's name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


# -- where the broker is ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerAt:
    """Where the commands reach the broker: its URL (token included: never printed),
    the network namespace to connect from (None: this one), and its process in the
    running topology (None: named by ``--url``)."""

    url: str
    namespace: str | None = None
    process: str | None = None

    @property
    def address(self) -> str:
        """The URL without its token: safe to print."""
        from millionscale.queue.jetstream import redact

        return redact(self.url)


def checked_url(url: str) -> str:
    """``url`` if it is a broker's URL; ConfigError otherwise, which never echoes it
    (it may hold a token)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(
            "--url is not a URL", hint="give nats://TOKEN@HOST:PORT, or set QUEUE_URL"
        ) from None
    if parts.scheme not in URL_SCHEMES or not parts.hostname:
        found = f"a {parts.scheme}:// URL" if parts.scheme else "a URL without a scheme"
        raise ConfigError(
            f"--url must be nats://TOKEN@HOST:PORT, not {found}",
            hint="the broker's URL, as QUEUE_URL gives it to the workers",
        )
    return url.strip()


def broker_process(topology: ResolvedTopology) -> ResolvedProcess:
    """The topology's broker: its first process of tier ``queue`` running NATS;
    TopologyError if it has none."""
    for process in topology.processes:
        if process.tier == TIER and process.engine == ENGINE:
            return process
    raise TopologyError(
        f"topology {topology.name!r} runs no message queue "
        f"(no process with engine {ENGINE!r} in tier {TIER!r})",
        hint="start one that does, e.g. 'millionscale up topologies/queued.toml', "
        "or name a broker with --url",
    )


def locate(url: str | None, state_dir: Path) -> BrokerAt:
    """The broker ``--url`` names, else the running topology's."""
    if url is not None and url.strip():
        return BrokerAt(checked_url(url))
    from millionscale.topology.urls import engine_url

    process = broker_process(running_topology(state_dir))
    return BrokerAt(engine_url(process), process.netns, process.name)


def with_broker(at: BrokerAt, queue: str, work: Callable[[JetStreamBroker], Awaitable[T]]) -> T:
    """``work(broker)`` on a connection to the broker at ``at`` (made from its
    namespace when it has one), closed afterwards."""
    from millionscale.queue.jetstream import JetStreamBroker

    async def run() -> T:
        broker = await JetStreamBroker.connect(at.url, queue, name=CLIENT_NAME)
        try:
            return await work(broker)
        finally:
            await broker.close()

    if at.namespace is None:
        return asyncio.run(run())
    from millionscale.servers import netns

    namespace = at.namespace
    try:
        return netns.run_in(namespace, lambda: asyncio.run(run()))
    except OSError as error:  # entering it: the client's own errors are QueueErrors
        raise QueueError(
            f"cannot reach the broker from its network namespace {namespace}: "
            f"{error.strerror or error}",
            hint="run this as the user that started the topology (namespaces need root), "
            "while it runs",
        ) from None


def _queue_name(queue: str) -> str:
    from millionscale.queue.job import TASK_NAME

    if not TASK_NAME.fullmatch(queue):
        raise ConfigError(
            f"--queue {queue!r} is not a queue name",
            hint="1-64 lowercase letters, digits or '_', starting with a letter; "
            f"the workers' default is {QUEUE!r}",
        )
    return queue


# -- what the commands print (pure) ---------------------------------------------


def age(seconds: float) -> str:
    """A duration as a person reads it: ``0.4 s``, ``12 s``, ``3.5 min``, ``2.0 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def status_records(status: QueueStatus, at: BrokerAt, queue: str) -> Records:
    """The queue's depth in one record, titled with the queue and where its broker is."""
    columns: list[Column | str] = [
        Column(header, right=True)
        for header in ("depth", "ready", "in flight", "delayed", "dead letters")
    ]
    columns += [Column("oldest", right=True), Column("redelivered", right=True)]
    oldest = age(status.oldest_age_s) if status.oldest_age_s > 0 else None
    dead = Text(str(status.dead_letters), style="red" if status.dead_letters else "")
    row: list[Cell] = [status.depth, status.ready, status.in_flight, status.delayed, dead, oldest]
    where = f" (process {at.process})" if at.process else ""
    return Records.of(
        columns, [[*row, status.redelivered]], title=f"queue {queue} on {at.address}{where}"
    )


STATE_STYLES = {"ready": "green", "starting": "yellow", "failed": "red", "stopped": "dim"}


def worker_records(workers: Sequence[dict[str, Any]]) -> Records:
    """The topology's workers as its live view has them (``millionscale status``'s
    processes of tier ``worker``)."""
    notes = any(w["state"] != "ready" and w.get("reason") for w in workers)
    columns: list[Column | str] = ["name", "host", "state", Column("pid", right=True)]
    columns.append(Column("restarts", right=True))
    if notes:
        columns.append(Column("note", free_text=True))
    rows = []
    for w in workers:
        state = w["state"]
        row: list[str | int | Text | None] = [
            w["name"],
            w.get("on_host"),
            Text(state, style=STATE_STYLES.get(state, "")),
            w.get("pid"),
            w.get("restarts", 0),
        ]
        if notes:
            row.append(w.get("reason") or "" if state != "ready" else "")
        rows.append(row)
    ready = sum(w["state"] == "ready" for w in workers)
    return Records.of(columns, rows, title=f"workers ({ready} of {len(workers)} ready)")


def _worker_json(worker: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": worker["name"],
        "host": worker.get("on_host"),
        "state": worker["state"],
        "pid": worker.get("pid"),
        "restarts": worker.get("restarts", 0),
        "note": worker.get("reason") or None,
    }


def status_json(
    status: QueueStatus, at: BrokerAt, queue: str, workers: Sequence[dict[str, Any]] | None
) -> dict[str, Any]:
    """``queue status --json``: the depth, where the broker is (no token), and the
    workers (None when the broker came from ``--url``: no topology to ask)."""
    return {
        "queue": queue,
        "broker": at.address,
        "process": at.process,
        "depth": status.depth,
        "ready": status.ready,
        "in_flight": status.in_flight,
        "delayed": status.delayed,
        "dead_letters": status.dead_letters,
        "oldest_age_s": status.oldest_age_s,
        "redelivered": status.redelivered,
        "workers": None if workers is None else [_worker_json(w) for w in workers],
    }


def when(timestamp: float, tz: tzinfo | None = None) -> str | None:
    """A Unix time in ``tz`` (this machine's zone by default), as ``logs`` prints times."""
    if timestamp <= 0:
        return None
    return datetime.fromtimestamp(timestamp, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def dead_letter_records(
    entries: Sequence[DeadLetterEntry], total: int, tz: tzinfo | None = None
) -> Records:
    """Dead letters, oldest first: the number ``queue retry`` takes, the job, why."""
    columns: list[Column | str] = [Column("id", right=True), "task", "job id"]
    columns += [Column("deliveries", right=True), "when"]
    columns += [Column("reason", free_text=True), Column("error", free_text=True)]
    rows = [
        [
            entry.id,
            entry.job.task if entry.job else None,
            entry.job.id if entry.job else None,
            entry.deliveries,
            when(entry.dead_at, tz),
            entry.reason or None,
            entry.error or None,
        ]
        for entry in entries
    ]
    shown = f"{len(entries)} of {total}" if len(entries) < total else f"{len(entries)}"
    return Records.of(columns, rows, title=f"dead letters ({shown}, oldest first)")


def dead_letters_json(entries: Sequence[DeadLetterEntry], total: int) -> dict[str, Any]:
    """``queue dead-letters --json``: each entry with its job (null when the message
    was not a job), its reason and last error; ``dead_at`` in ISO 8601, UTC."""
    return {
        "total": total,
        "dead_letters": [
            {
                "id": entry.id,
                "task": entry.job.task if entry.job else None,
                "job_id": entry.job.id if entry.job else None,
                "key": entry.job.idempotency_key if entry.job else None,
                "args": dict(entry.job.args) if entry.job else None,
                "reason": entry.reason,
                "error": entry.error,
                "deliveries": entry.deliveries,
                "dead_at": datetime.fromtimestamp(entry.dead_at, UTC).isoformat()
                if entry.dead_at > 0
                else None,
            }
            for entry in entries
        ],
    }


def retried_line(entry_id: int, job: Job) -> str:
    """What ``queue retry`` says for each job it put back."""
    return f"dead letter {entry_id}: job {job.id} ({job.task}) is back on the queue"


# -- the commands ---------------------------------------------------------------


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _workers(at: BrokerAt, state_dir: Path) -> list[dict[str, Any]] | None:
    """The topology's workers in the supervisor's live view; None for a ``--url`` broker."""
    if at.process is None:
        return None
    from millionscale.topology.control import live_view

    view = live_view(StateDir(state_dir))
    return [p for p in view["processes"] if p.get("tier") == WORKER_TIER]


@queue_app.command("status")
def queue_status(
    as_json: JsonOption = False,
    url: UrlOption = None,
    queue: QueueOption = QUEUE,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """The queue's depth and oldest job, and the workers, as the supervisor sees them.

    Ready, in flight, delayed and dead-lettered jobs, the age of the oldest job not
    done, the deliveries in flight that are redeliveries; then each worker process
    of the topology (tier worker): its host, state, pid and restarts."""
    queue = _queue_name(queue)
    at = locate(url, state_dir)
    status = with_broker(at, queue, lambda broker: broker.status())
    workers = _workers(at, state_dir)
    if as_json:
        print(json.dumps(status_json(status, at, queue, workers), indent=2))
        return
    console.print(status_records(status, at, queue))
    if workers:
        console.print(worker_records(workers))
    elif workers is not None:
        _say(f"no process of tier {WORKER_TIER!r} in this topology: nothing takes the jobs")


@queue_app.command("dead-letters")
def queue_dead_letters(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="List at most this many.")
    ] = LIMIT,
    as_json: JsonOption = False,
    url: UrlOption = None,
    queue: QueueOption = QUEUE,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """The jobs given up on, oldest first, with why.

    Each with its id (for 'queue retry'), task, job id, deliveries, when it was
    given up on, the reason and the last error."""
    queue = _queue_name(queue)
    at = locate(url, state_dir)

    async def read(broker: JetStreamBroker) -> tuple[Sequence[DeadLetterEntry], int]:
        total = (await broker.status()).dead_letters
        entries = await broker.dead_letters(limit) if total else ()
        return entries, max(total, len(entries))

    entries, total = with_broker(at, queue, read)
    if as_json:
        print(json.dumps(dead_letters_json(entries, total), indent=2))
    elif not entries:
        _say(f"no dead letters in queue {queue}")
    else:
        console.print(dead_letter_records(entries, total))


@dataclass(frozen=True, slots=True)
class _Skipped:
    entry_id: int
    why: str


@queue_app.command("retry")
def queue_retry(
    entry_id: Annotated[
        int | None,
        typer.Argument(metavar="ID", min=1, help="The dead letter ('queue dead-letters')."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every dead letter listed when it starts.")
    ] = False,
    url: UrlOption = None,
    queue: QueueOption = QUEUE,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Put dead letters back on the queue, one line per job put back.

    Each goes back as its job, with its id and idempotency key. --all: every dead
    letter there is when it starts (those that arrive meanwhile stay); it exits 1 if
    one could not be put back (it holds no job)."""
    if (entry_id is None) == (not every):
        raise ConfigError(
            "name one dead letter or --all, not both"
            if every
            else "no dead letter named: give its ID or --all",
            hint="'millionscale queue dead-letters' lists them",
        )
    queue = _queue_name(queue)
    at = locate(url, state_dir)
    if entry_id is not None:
        job = with_broker(at, queue, lambda broker: broker.retry(entry_id))
        _say(retried_line(entry_id, job))
        return
    put_back, skipped = with_broker(at, queue, _retry_all)
    for skip in skipped:
        err_console.print(
            f"dead letter {skip.entry_id} not retried: {skip.why}", markup=False, highlight=False
        )
    if not put_back and not skipped:
        _say(f"no dead letters in queue {queue}")
    if skipped:
        err_console.print(
            f"error: {len(skipped)} of {len(put_back) + len(skipped)} dead letters "
            "not put back (see above)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)


async def _retry_all(broker: JetStreamBroker) -> tuple[list[int], list[_Skipped]]:
    """Retry every dead letter there is now, saying each as it goes back; the ids put
    back and those that were not, with why. Bounded by the count at the start, so a
    job that fails again at once is not retried for ever."""
    total = (await broker.status()).dead_letters
    entries = await broker.dead_letters(total) if total else ()
    put_back: list[int] = []
    skipped: list[_Skipped] = []
    for entry in entries:
        if entry.job is None:
            skipped.append(_Skipped(entry.id, f"it holds no job ({entry.reason})"))
            continue
        try:
            job = await broker.retry(entry.id)
        except QueueError as error:
            skipped.append(_Skipped(entry.id, error.message))
            continue
        _say(retried_line(entry.id, job))
        put_back.append(entry.id)
    return put_back, skipped
