"""What the supervisor decides, without doing any of it.

:class:`Supervision` is the supervisor's brain, free of processes, sockets and
sleeps. The shell (:mod:`millionscale.topology.supervisor`) tells it facts —
a process was spawned, a probe answered, a process exited, a stop was asked —
and calls :meth:`Supervision.step`, which returns the :data:`Action` s to carry
out now: spawn this, probe that, signal the other. Time comes from an injected
clock, so tests jump through backoffs and timeouts without sleeping.

Every decision is also written as one sentence to :attr:`Supervision.journal`
("web: exited with code 1; restart 2 of 5 in 1.0 s"), which the shell logs and
the tests assert on.

Guarantees:

- a process is spawned (and restarted) only when every process it depends on
  is ready; a dependency that fails fails its dependents;
- a process that has never been ready fails once its readiness timeout has
  passed since it was first spawned, however many times it crashed and was
  restarted meanwhile: ``up`` never waits longer than that for it;
- a process that keeps crashing is restarted at most ``max_restarts`` times
  and then marked failed, never restarted for ever: crashes count within
  ``window_s``, except that a crash before the process was ready again is
  never forgiven by the window (a process that takes longer than
  ``window_s / max_restarts`` to crash would otherwise loop for ever);
- on stop, a process is signalled only when every process that depends on it
  has exited; a process that ignores its graceful signal for
  ``stop_timeout_s`` is killed.

Membership changes at run time (the control endpoint's ``POST /v1/processes``
and ``DELETE /v1/processes/NAME``):

- :meth:`Supervision.add` puts a new process in, pending: it starts as soon as
  its dependencies are ready, like one of the topology file's. Its
  dependencies must exist and not be leaving; its name must be new.
- :meth:`Supervision.retire` drains a process: it keeps running, reported as
  ``draining`` (discovery's ``stopping``, so that consumers take it out of
  rotation), for ``drain_s``; then it gets its graceful signal (SIGKILL after
  ``stop_timeout_s``), is never restarted, and once it has exited it is
  dropped: :meth:`status` no longer lists it and its name is put on
  :attr:`Supervision.gone` for the shell. A process others depend on cannot be
  retired. Both raise :class:`~millionscale.errors.MembershipError` (or
  :class:`~millionscale.errors.UnknownProcessError`) and change nothing when
  refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from millionscale.errors import MembershipError, UnknownProcessError
from millionscale.topology.lifecycle import PUBLIC_STATE, Phase, Transition, advance
from millionscale.topology.model import Readiness, RestartPolicy
from millionscale.topology.order import dependents, topological_order

__all__ = [
    "Action",
    "Kill",
    "Plan",
    "Probe",
    "ProcessStatus",
    "Spawn",
    "Supervision",
    "Terminate",
    "backoff_delay",
]


@dataclass(frozen=True, slots=True)
class Plan:
    """What the supervisor needs to know of one process to decide for it."""

    depends_on: tuple[str, ...] = ()
    readiness: Readiness = field(default_factory=Readiness)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    probed: bool = True  # False: ready as soon as it runs (readiness none)


@dataclass(frozen=True, slots=True)
class Spawn:
    name: str


@dataclass(frozen=True, slots=True)
class Probe:
    name: str


@dataclass(frozen=True, slots=True)
class Terminate:
    """Send the process group its graceful signal.

    ``drain`` is False when the whole topology stops: nobody is left to balance
    to the process, so a command process is told to stop without draining
    (SIGINT: our servers then finish the requests in flight and exit, skipping
    the drain that lets a balancer notice them go, :mod:`millionscale.web.shutdown`).
    A process retired on its own (``process remove``, a scale down) drains.
    """

    name: str
    drain: bool = True


@dataclass(frozen=True, slots=True)
class Kill:
    """Send the process group SIGKILL."""

    name: str


Action = Spawn | Probe | Terminate | Kill


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """One process as the outside world sees it (``millionscale status``)."""

    name: str
    phase: Phase
    pid: int | None
    restarts: int
    reason: str
    draining: bool = False  # retired: still running until its drain delay ends

    @property
    def state(self) -> str:
        return PUBLIC_STATE[self.phase]


def backoff_delay(policy: RestartPolicy, attempt: int) -> float:
    """Seconds to wait before restart number ``attempt`` (1-based) in the window."""
    return float(min(policy.backoff_initial_s * 2 ** (attempt - 1), policy.backoff_max_s))


@dataclass
class _Record:
    plan: Plan
    phase: Phase = Phase.PENDING
    pid: int | None = None
    restarts: int = 0
    reason: str = ""
    crashes: deque[float] = field(default_factory=deque)
    start_at: float = 0.0  # BACKOFF: when to spawn again
    ready_deadline: float = 0.0  # STARTING: when to give up waiting
    probe_at: float = 0.0  # STARTING: when to probe next
    probing: bool = False
    kill_reason: str = ""  # STARTING: why we killed it, if we did
    stop_deadline: float = 0.0  # STOPPING: when to SIGKILL
    forced: bool = False
    ever_ready: bool = False
    first_spawned: float | None = None  # when it was first spawned
    cause: str = ""  # the last error line its log showed, from the shell
    retire_at: float | None = None  # retired: when its drain ends and it is stopped

    def startup_deadline(self) -> float | None:
        """Until it has been ready once: when its readiness timeout, counted from
        its first spawn across every restart, runs out."""
        if self.ever_ready or self.first_spawned is None:
            return None
        return self.first_spawned + self.plan.readiness.timeout_s


class Supervision:
    """The supervisor's decisions for one topology. Not thread-safe: one owner."""

    def __init__(self, plans: Mapping[str, Plan], clock: Callable[[], float]) -> None:
        graph = {name: plan.depends_on for name, plan in plans.items()}
        self.order = topological_order(graph)
        self._dependents = dependents(graph)
        self._records = {name: _Record(plans[name]) for name in self.order}
        self._clock = clock
        self.stop_requested = False
        self.journal: list[str] = []
        self.gone: list[str] = []  # retired processes dropped since the shell last looked

    # -- facts from the shell ------------------------------------------------

    def spawned(self, name: str, pid: int) -> None:
        """``name`` is running as ``pid`` (after a :class:`Spawn`)."""
        record = self._records[name]
        now = self._clock()
        record.pid = pid
        if record.first_spawned is None:
            record.first_spawned = now
        record.ready_deadline = now + record.plan.readiness.timeout_s
        startup = record.startup_deadline()
        if startup is not None:
            record.ready_deadline = min(record.ready_deadline, startup)
        record.probe_at = now
        record.probing = False
        record.kill_reason = ""
        if not record.plan.probed:
            self._move(name, Transition.READY, f"{name}: running as pid {pid}; ready")
        else:
            self.journal.append(f"{name}: started as pid {pid}")

    def spawn_failed(self, name: str, reason: str) -> None:
        """``name`` could not be started at all (no binary, bad directory)."""
        self._records[name].pid = None
        self._move(name, Transition.GIVE_UP, f"{name}: could not start: {reason}")

    def probed(self, name: str, ok: bool) -> None:
        """A readiness probe of ``name`` answered ``ok``."""
        record = self._records[name]
        record.probing = False
        if record.phase is not Phase.STARTING or record.kill_reason:
            return  # a late answer for a process already moved on
        if ok:
            waited = self._clock() - (record.ready_deadline - record.plan.readiness.timeout_s)
            record.ever_ready = True
            self._move(name, Transition.READY, f"{name}: ready after {waited:.2f} s")
        else:
            record.probe_at = self._clock() + record.plan.readiness.interval_s

    def exited(self, name: str, returncode: int, cause: str = "", killer: str = "") -> None:
        """``name``'s process exited (negative ``returncode``: killed by that signal);
        ``cause``: the last error line of what it logged, if the shell found one;
        ``killer``: who sent the signal, when the shell knows (its host's OOM killer),
        said in every sentence about this exit."""
        record = self._records[name]
        was_ready = record.phase is Phase.READY
        record.pid = None
        record.probing = False
        record.cause = cause or record.cause
        how = (
            f"killed by signal {-returncode}"
            if returncode < 0
            else f"exited with code {returncode}"
        )
        if killer:
            how = f"{killer} ({how})"
        if record.phase is Phase.STOPPING:
            self._move(name, Transition.EXITED, f"{name}: stopped ({how})")
            return
        if record.retire_at is not None:  # leaving anyway: not restarted
            self._move(name, Transition.DONE, f"{name}: {how} while draining")
            return
        if record.kill_reason:
            how = f"{record.kill_reason} ({how})"
        if self.stop_requested:
            self._move(name, Transition.DONE, f"{name}: {how} while stopping")
            return
        policy = record.plan.restart
        clean = returncode == 0 and not record.kill_reason
        if policy.policy == "never" or (policy.policy == "on-failure" and clean):
            if clean:
                self._move(name, Transition.DONE, f"{name}: {how}; not restarted ({policy.policy})")
            else:
                self._move(name, Transition.GIVE_UP, f"{name}: {how}; not restarted (never)")
            return
        now = self._clock()
        startup = record.startup_deadline()
        if startup is not None and now >= startup:
            self._give_up_starting(name, record, how)
            return
        while was_ready and record.crashes and record.crashes[0] <= now - policy.window_s:
            record.crashes.popleft()
        if len(record.crashes) >= policy.max_restarts:
            within = (
                f"within {policy.window_s:g} s"
                if was_ready
                else "without being ready again"
                if record.ever_ready
                else "before it was ever ready"
            )
            self._move(
                name,
                Transition.GIVE_UP,
                f"{name}: {how}; failed after {len(record.crashes)} restarts {within}"
                + self._last_line(record),
            )
            return
        record.crashes.append(now)
        attempt = len(record.crashes)
        delay = backoff_delay(policy, attempt)
        record.start_at = now + delay
        self._move(
            name,
            Transition.CRASH,
            f"{name}: {how}; restart {attempt} of {policy.max_restarts} in {delay:.1f} s",
        )

    def _give_up_starting(self, name: str, record: _Record, how: str) -> None:
        """Fail a process never ready within its readiness timeout since its first spawn."""
        if not record.kill_reason:
            timeout = record.plan.readiness.timeout_s
            restarts = f", {record.restarts} restarts" if record.restarts else ""
            how = f"not ready within {timeout:g} s ({how}{restarts})"
        self._move(name, Transition.GIVE_UP, f"{name}: {how}; failed" + self._last_line(record))

    @staticmethod
    def _last_line(record: _Record) -> str:
        return f"; last error: {record.cause}" if record.cause else ""

    def add(self, name: str, plan: Plan) -> None:
        """``name`` joins the running topology, pending (started by a later :meth:`step`)."""
        if self.stop_requested:
            raise MembershipError(
                f"cannot add {name}: the topology is stopping", hint="start it again with 'up'"
            )
        if name in self._records:
            raise MembershipError(
                f"a process named {name} already runs", hint="choose a name of its own"
            )
        for dep in plan.depends_on:
            if dep not in self._records:
                raise UnknownProcessError(
                    f"{name} depends on {dep}, which does not run here",
                    hint=f"running: {', '.join(self.order)}",
                )
            if self._records[dep].retire_at is not None:
                raise MembershipError(
                    f"{name} depends on {dep}, which is being removed",
                    hint="depend on a process that stays",
                )
        self._records[name] = _Record(plan)
        self.order.append(name)  # after its dependencies: still a start order
        self._dependents[name] = []
        for dep in plan.depends_on:
            self._dependents[dep].append(name)
        self.journal.append(f"{name}: added")

    def retire(self, name: str, drain_s: float) -> None:
        """Drain ``name`` for ``drain_s``, then stop it for good and drop it."""
        self.check_retire(name)
        self._records[name].retire_at = self._clock() + drain_s
        self.journal.append(f"{name}: draining for {drain_s:g} s, then stopping")

    def check_retire(self, name: str) -> None:
        """Raise what :meth:`retire` would raise for ``name``; nothing if it may go."""
        record = self._records.get(name)
        if record is None:
            raise UnknownProcessError(
                f"no process named {name} runs here", hint=f"running: {', '.join(self.order)}"
            )
        if self.stop_requested:
            raise MembershipError(f"cannot remove {name}: the topology is stopping")
        if record.retire_at is not None:
            raise MembershipError(f"{name} is already being removed", hint="wait for it to go")
        needed = self._dependents[name]
        if needed:
            raise MembershipError(
                f"cannot remove {name}: {', '.join(needed)} {'depends' if len(needed) == 1 else 'depend'} on it",
                hint="remove those first, and wait for them to go",
            )

    def request_stop(self) -> None:
        """Stop everything, dependents before their dependencies."""
        if not self.stop_requested:
            self.stop_requested = True
            self.journal.append("stop requested: stopping in reverse dependency order")

    # -- decisions -------------------------------------------------------------

    def step(self) -> list[Action]:
        """The actions due now. Call after every fact and whenever a deadline passes."""
        return self._stop_step() if self.stop_requested else self._run_step()

    def _run_step(self) -> list[Action]:
        now = self._clock()
        actions: list[Action] = []
        for name in list(self.order):
            record = self._records[name]
            if record.retire_at is not None:
                actions += self._retire_step(name, record, now)
                continue
            startup = record.startup_deadline()
            if record.phase is Phase.BACKOFF and startup is not None and now >= startup:
                self._give_up_starting(name, record, record.reason.split(";")[0])
            elif record.phase in (Phase.PENDING, Phase.BACKOFF):
                actions += self._start_when_due(name, record, now)
            elif record.phase is Phase.STARTING and record.pid is not None:
                if record.kill_reason:
                    continue
                if now >= record.ready_deadline:
                    timeout = record.plan.readiness.timeout_s
                    record.kill_reason = f"not ready within {timeout:g} s"
                    self.journal.append(f"{name}: {record.kill_reason}; killing it")
                    actions.append(Kill(name))
                elif not record.probing and now >= record.probe_at:
                    record.probing = True
                    actions.append(Probe(name))
        return actions

    def _retire_step(self, name: str, record: _Record, now: float) -> list[Action]:
        """A retired process: drained, then stopped, then dropped."""
        assert record.retire_at is not None
        if record.phase in (Phase.PENDING, Phase.BACKOFF):
            self._move(name, Transition.STOP, f"{name}: removed before it ran again")
        if record.phase in (Phase.STOPPED, Phase.FAILED):
            self._drop(name)
            return []
        if record.phase in (Phase.STARTING, Phase.READY):
            if now < record.retire_at or record.pid is None:
                return []
            record.stop_deadline = now + record.plan.restart.stop_timeout_s
            self._move(name, Transition.STOP, f"{name}: drained; stopping (pid {record.pid})")
            return [Terminate(name)]
        if record.phase is Phase.STOPPING and not record.forced and now >= record.stop_deadline:
            record.forced = True
            timeout = record.plan.restart.stop_timeout_s
            self.journal.append(f"{name}: still running {timeout:g} s after stop; killing it")
            return [Kill(name)]
        return []

    def _drop(self, name: str) -> None:
        record = self._records.pop(name)
        self.order.remove(name)
        del self._dependents[name]
        for dep in record.plan.depends_on:
            if dep in self._dependents:
                self._dependents[dep].remove(name)
        self.gone.append(name)
        self.journal.append(f"{name}: removed")

    def _start_when_due(self, name: str, record: _Record, now: float) -> list[Action]:
        """Start (PENDING) or restart (BACKOFF, delay over) once every dependency is ready."""
        deps = record.plan.depends_on
        failed = next((d for d in deps if self._records[d].phase is Phase.FAILED), None)
        first = record.phase is Phase.PENDING
        if failed is not None:
            verb = "started" if first else "restarted"
            self._move(
                name,
                Transition.DEPENDENCY_FAILED,
                f"{name}: not {verb}: dependency {failed} failed",
            )
            return []
        if not self._dependencies_ready(name) or (not first and now < record.start_at):
            return []
        if first:
            self._move(name, Transition.SPAWN, f"{name}: starting")
        else:
            record.restarts += 1
            self._move(name, Transition.SPAWN, f"{name}: restarting (restart {record.restarts})")
        return [Spawn(name)]

    def _dependencies_ready(self, name: str) -> bool:
        return all(
            self._records[dep].phase is Phase.READY for dep in self._records[name].plan.depends_on
        )

    def _stop_step(self) -> list[Action]:
        now = self._clock()
        actions: list[Action] = []
        for name in reversed(self.order):
            record = self._records[name]
            if record.phase in (Phase.PENDING, Phase.BACKOFF):
                self._move(name, Transition.STOP, f"{name}: stopped before it ran")
            elif record.phase in (Phase.STARTING, Phase.READY):
                waiting = [
                    d
                    for d in self._dependents[name]
                    if self._records[d].phase not in (Phase.STOPPED, Phase.FAILED)
                ]
                if waiting:
                    continue
                if record.pid is None:  # spawn ordered, pid not yet known
                    continue
                timeout = record.plan.restart.stop_timeout_s
                record.stop_deadline = now + timeout
                self._move(name, Transition.STOP, f"{name}: stopping (pid {record.pid})")
                actions.append(Terminate(name, drain=False))
            elif (
                record.phase is Phase.STOPPING and not record.forced and now >= record.stop_deadline
            ):
                record.forced = True
                timeout = record.plan.restart.stop_timeout_s
                self.journal.append(f"{name}: still running {timeout:g} s after stop; killing it")
                actions.append(Kill(name))
        return actions

    # -- views -------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`step` may have something new to do."""
        times: list[float] = []
        for name, record in self._records.items():
            if record.phase is Phase.BACKOFF:
                startup = record.startup_deadline()
                if startup is not None:
                    times.append(startup)
                if self._dependencies_ready(name):
                    # Waiting on a dependency is waiting on a fact, not on the clock.
                    times.append(record.start_at)
            elif record.retire_at is not None and record.phase in (Phase.STARTING, Phase.READY):
                times.append(record.retire_at)
            elif (
                record.phase is Phase.STARTING and record.pid is not None and not record.kill_reason
            ):
                times.append(record.ready_deadline)
                if not record.probing:
                    times.append(record.probe_at)
            elif record.phase is Phase.STOPPING and not record.forced:
                times.append(record.stop_deadline)
        return min(times) if times else None

    def status(self) -> list[ProcessStatus]:
        """Every process, in start order."""
        return [
            ProcessStatus(name, r.phase, r.pid, r.restarts, r.reason, r.retire_at is not None)
            for name, r in self._records.items()
        ]

    def phase(self, name: str) -> Phase:
        return self._records[name].phase

    @property
    def all_ready(self) -> bool:
        return all(r.phase is Phase.READY for r in self._records.values())

    @property
    def any_failed(self) -> bool:
        return any(r.phase is Phase.FAILED for r in self._records.values())

    @property
    def finished(self) -> bool:
        """Stop was requested and nothing runs any more."""
        return self.stop_requested and all(
            r.phase in (Phase.STOPPED, Phase.FAILED) for r in self._records.values()
        )

    def _move(self, name: str, transition: Transition, sentence: str) -> None:
        record = self._records[name]
        record.phase = advance(record.phase, transition)
        record.reason = sentence.split(": ", 1)[1] if ": " in sentence else sentence
        self.journal.append(sentence)
        if record.phase is not Phase.STOPPING:
            record.forced = False
