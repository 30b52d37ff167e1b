"""Active health checks of one backend: a state machine, pure and on an injected clock.

The shell requests the backend's ``/readyz`` when :attr:`HealthCheck.next_check_at`
comes, and feeds the result (a 2xx within the check timeout, or not) to
:meth:`HealthCheck.on_check`, which returns a :class:`Transition` carrying one
sentence. A backend takes new requests while :attr:`HealthCheck.serving`.

The counting is HAProxy's (``set_server_check_status()`` in ``src/check.c``):
a *health* counter runs from 0 to ``rise + fall - 1``; the backend is up from
``rise`` on. A passed check adds one, and on reaching ``rise`` jumps to the
top; a failed check takes one away, and on falling below ``rise`` drops to 0.
So a down backend needs ``rise`` passes in a row to come up (any failure
starts it over), and an up one ``fall`` failures in a row to go down (any
pass forgives them all). The states name the regions of the counter:

==========  ==============================================  =========
state       health counter                                  serving
==========  ==============================================  =========
down        0                                               no
rising      1 .. rise - 1 (passes counted towards up)       no
up          rise + fall - 1 (the top)                       yes
falling     rise .. rise + fall - 2 (failures counted)      yes
draining    (kept counting) ``lb drain``: no new request    no
removed     drained, or the drain timed out: forgotten      no
==========  ==============================================  =========

and the transitions, as the table :data:`TRANSITIONS` holds them (taken
through a :class:`~millionscale.statetable.StateTable`; any other raises
:class:`~millionscale.errors.IllegalTransition`, a bug in the caller: the
balancer refuses what an operator may get wrong, such as draining an unknown
backend, before it reaches the table):

==========  =====================  =================================
from        on                     to
==========  =====================  =================================
down        check passed           rising; up when rise is 1
down        check failed           down
rising      check passed           rising; up at the rise-th pass
rising      check failed           down
up          check passed           up
up          check failed           falling; down when fall is 1
falling     check passed           up
falling     check failed           falling; down at the fall-th failure
(any of the four)  drain           draining
draining    check passed/failed    draining (the counter still moves)
draining    drain                  draining (the first deadline stays)
draining    resume                 the state the counter says
draining    drain polled           draining; removed when no request is
                                   in flight or the deadline passed
==========  =====================  =================================

Rules kept besides the table:

- **Where a backend starts** (:class:`InitState`, HAProxy's
  ``init-state``): ``up`` (HAProxy's default) serves at once but counts as
  one failure from down: a backend the balancer starts with is trusted until
  its first check says otherwise. ``fully-down`` takes no request before
  ``rise`` passes: the one for a backend added at run time.
- **Check timing**: the first check is due when the backend is added; then
  ``inter`` while up, ``fastinter`` while rising or falling, ``downinter``
  while down (HAProxy's three intervals; the latter two default to
  ``inter``). A check that has not answered within ``timeout_s`` (HAProxy:
  ``inter`` unless ``timeout check`` is set) is a failure.
- **Slow start**: a backend that comes up from down or rising (recovered, or
  new and started down) has its weight multiplied by
  :meth:`HealthCheck.slow_start_factor` for ``slow_start_s``: Envoy's
  ``max(min_weight_percent, t / slow_start_window)`` with aggression 1, a
  linear ramp from 10 % to 100 %. Not at the start of the balancer:
  "the slowstart never applies when haproxy starts, otherwise it would cause
  trouble to running servers" (HAProxy's documentation of ``slowstart``).
- **Graceful drain**: a draining backend takes no new request; the ones in
  flight finish. It is removed once none is in flight (ALB completes a
  deregistration at once when no request is in flight) or at the drain
  deadline, whichever comes first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from millionscale.errors import IllegalTransition
from millionscale.statetable import StateTable

__all__ = [
    "DRAIN_TIMEOUT_S",
    "FALL",
    "INTER_S",
    "RISE",
    "SLOW_START_MIN_FACTOR",
    "SLOW_START_S",
    "TRANSITIONS",
    "Event",
    "HealthCheck",
    "HealthPolicy",
    "HealthStatistics",
    "IllegalTransition",
    "InitState",
    "State",
    "Transition",
]

INTER_S = 2.0  # HAProxy's default `inter` (DEF_CHKINTR, 2000 ms)
RISE = 2  # HAProxy's default `rise` (DEF_RISETIME)
FALL = 3  # HAProxy's default `fall` (DEF_FALLTIME)
# Our choice. HAProxy's `slowstart` and Envoy's `slow_start_window` have no default (off
# unless set); 30 s is the shortest slow start AWS ALB accepts (30-900 s), long enough for
# a Python worker to fill its connection pools and caches.
SLOW_START_S = 30.0
# Envoy's `min_weight_percent` default (10 %): the weight a backend starts its slow start at.
SLOW_START_MIN_FACTOR = 0.1
# Our choice: Kubernetes' default terminationGracePeriodSeconds (30 s), the time a web
# server gets to finish its requests before it is killed. ALB's deregistration delay
# defaults to 300 s; HAProxy's drain has no deadline.
DRAIN_TIMEOUT_S = 30.0


class State(StrEnum):
    DOWN = "down"
    RISING = "rising"
    UP = "up"
    FALLING = "falling"
    DRAINING = "draining"
    REMOVED = "removed"


class Event(StrEnum):
    PASSED = "check passed"
    FAILED = "check failed"
    DRAIN = "drain"
    RESUME = "resume"
    POLL = "drain polled"


class InitState(StrEnum):
    """Where a new backend's counter starts (HAProxy's recent ``init-state`` server option)."""

    FULLY_UP = "fully-up"  # serving; `fall` failures take it down
    UP = "up"  # serving; the first failure takes it down (HAProxy's default)
    DOWN = "down"  # not serving; the first pass brings it up
    FULLY_DOWN = "fully-down"  # not serving; `rise` passes bring it up


_HEALTH = frozenset({State.DOWN, State.RISING, State.UP, State.FALLING})

TRANSITIONS: dict[tuple[State, Event], frozenset[State]] = {
    (State.DOWN, Event.PASSED): frozenset({State.RISING, State.UP}),
    (State.DOWN, Event.FAILED): frozenset({State.DOWN}),
    (State.RISING, Event.PASSED): frozenset({State.RISING, State.UP}),
    (State.RISING, Event.FAILED): frozenset({State.DOWN}),
    (State.UP, Event.PASSED): frozenset({State.UP}),
    (State.UP, Event.FAILED): frozenset({State.FALLING, State.DOWN}),
    (State.FALLING, Event.PASSED): frozenset({State.UP}),
    (State.FALLING, Event.FAILED): frozenset({State.FALLING, State.DOWN}),
    **{(state, Event.DRAIN): frozenset({State.DRAINING}) for state in _HEALTH},
    (State.DRAINING, Event.PASSED): frozenset({State.DRAINING}),
    (State.DRAINING, Event.FAILED): frozenset({State.DRAINING}),
    (State.DRAINING, Event.DRAIN): frozenset({State.DRAINING}),
    (State.DRAINING, Event.RESUME): _HEALTH,
    (State.DRAINING, Event.POLL): frozenset({State.DRAINING, State.REMOVED}),
}
"""(state, event) -> the states it may lead to; a pair not in the table is illegal."""

_TABLE: StateTable[State, Event] = StateTable(TRANSITIONS, name="backend health")


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """The knobs, HAProxy's names and defaults; ``None`` intervals default to ``inter_s``."""

    inter_s: float = INTER_S
    fastinter_s: float | None = None
    downinter_s: float | None = None
    timeout_s: float | None = None
    rise: int = RISE
    fall: int = FALL
    slow_start_s: float = SLOW_START_S  # 0 turns slow start off
    slow_start_min_factor: float = SLOW_START_MIN_FACTOR
    drain_timeout_s: float = DRAIN_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.rise < 1 or self.fall < 1:
            raise ValueError("rise and fall must be at least 1")
        intervals = (self.inter_s, self.fastinter_s, self.downinter_s, self.timeout_s)
        if any(s is not None and s <= 0 for s in intervals):
            raise ValueError("check intervals and timeout must be positive")
        if self.slow_start_s < 0 or self.drain_timeout_s < 0:
            raise ValueError("slow_start_s and drain_timeout_s must not be negative")
        if not 0.0 < self.slow_start_min_factor <= 1.0:
            raise ValueError("slow_start_min_factor must be in (0, 1]")

    @property
    def check_timeout_s(self) -> float:
        """How long a check may take before it counts as failed."""
        return self.inter_s if self.timeout_s is None else self.timeout_s

    def interval_s(self, state: State) -> float:
        """The time from one check to the next, in ``state``."""
        match state:
            case State.DOWN:
                return self.downinter_s or self.inter_s
            case State.RISING | State.FALLING:
                return self.fastinter_s or self.inter_s
        return self.inter_s


@dataclass(frozen=True, slots=True)
class Transition:
    """What one event did: ``before`` -> ``after`` at ``at``, and the sentence to log."""

    backend: str
    event: Event
    before: State
    after: State
    at: float
    reason: str

    @property
    def changed(self) -> bool:
        return self.before is not self.after


@dataclass(frozen=True, slots=True)
class HealthStatistics:
    backend: str
    state: State
    health: int  # HAProxy's counter, 0 .. rise + fall - 1
    checks: int
    failed_checks: int
    changes: int  # state changes since the backend was added
    last_change_at: float
    next_check_at: float
    up_since: float | None  # when the current slow start began, if one did


class HealthCheck:
    """One backend's health, from its active checks and the admin's drain.

    ``now`` at construction is when the backend was added: its first check is
    due then. See the module docstring for the rules.
    """

    def __init__(
        self,
        backend: str,
        *,
        now: float,
        policy: HealthPolicy | None = None,
        init: InitState = InitState.UP,
    ) -> None:
        self.backend = backend
        self.policy = policy or HealthPolicy()
        top = self.policy.rise + self.policy.fall - 1
        self._health = {
            InitState.FULLY_UP: top,
            InitState.UP: self.policy.rise,
            InitState.DOWN: self.policy.rise - 1,
            InitState.FULLY_DOWN: 0,
        }[init]
        self._state = self._from_health()
        # Started `up` below the top of the counter: trusted, not yet confirmed by a check.
        self._unconfirmed = self._state is State.FALLING
        self._next_check_at = now
        self._last_change_at = now
        self._up_since: float | None = None
        self._drain_deadline: float | None = None
        self._checks = 0
        self._failed = 0
        self._changes = 0

    # -- what the shell reads ---------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def serving(self) -> bool:
        """Whether the backend takes new requests (up or falling)."""
        return self._state in (State.UP, State.FALLING)

    @property
    def next_check_at(self) -> float:
        """When the next check is due (``inf`` once removed)."""
        return math.inf if self._state is State.REMOVED else self._next_check_at

    @property
    def drain_deadline(self) -> float | None:
        return self._drain_deadline

    def slow_start_factor(self, now: float) -> float:
        """The factor in ``[slow_start_min_factor, 1]`` to multiply the weight by at ``now``."""
        window = self.policy.slow_start_s
        if self._up_since is None or window == 0:
            return 1.0
        elapsed = now - self._up_since
        if elapsed >= window:
            return 1.0
        return max(self.policy.slow_start_min_factor, elapsed / window)

    # -- events -------------------------------------------------------------------------

    def on_check(self, ok: bool, now: float) -> Transition:
        """Count one check's result (``ok``: a 2xx answer within the check timeout)."""
        event = Event.PASSED if ok else Event.FAILED
        self._allowed(event)
        rise, fall = self.policy.rise, self.policy.fall
        top = rise + fall - 1
        before_health = self._health
        self._checks += 1
        if ok:
            if self._health < top:
                self._health += 1
                if self._health >= rise:
                    self._health = top
        else:
            self._failed += 1
            if self._health > 0:
                self._health -= 1
                if self._health < rise:
                    self._health = 0
        health_state = self._from_health()
        self._next_check_at = now + self.policy.interval_s(health_state)
        if self._state is State.DRAINING:
            self._unconfirmed = False
            sentence = f"{self.backend}: {event} while draining (it would be {health_state})"
            return self._move(event, State.DRAINING, now, sentence)
        sentence = self._sentence(before_health, health_state)
        self._unconfirmed = False
        came_up = health_state is State.UP and self._state in (State.DOWN, State.RISING)
        if came_up and self.policy.slow_start_s > 0:
            self._up_since = now
            sentence += f"; slow start for {self.policy.slow_start_s:g} s"
        if health_state is State.DOWN:
            self._up_since = None
        return self._move(event, health_state, now, sentence)

    def drain(self, now: float, *, timeout_s: float | None = None) -> Transition:
        """``lb drain``: no new request; removed when the last one in flight finishes or
        after ``timeout_s`` (default: the policy's ``drain_timeout_s``)."""
        self._allowed(Event.DRAIN)
        if self._state is State.DRAINING:
            left = _seconds((self._drain_deadline or now) - now)
            sentence = f"{self.backend} is already draining ({left} left)"
            return self._move(Event.DRAIN, State.DRAINING, now, sentence)
        timeout = self.policy.drain_timeout_s if timeout_s is None else timeout_s
        if timeout < 0:
            raise ValueError("a drain timeout is not negative")
        self._drain_deadline = now + timeout
        sentence = f"{self.backend} is draining: no new request, removed within {_seconds(timeout)}"
        return self._move(Event.DRAIN, State.DRAINING, now, sentence)

    def resume(self, now: float) -> Transition:
        """Cancel a drain: back to the state the checks say."""
        self._allowed(Event.RESUME)
        self._drain_deadline = None
        after = self._from_health()
        sentence = f"{self.backend}'s drain is cancelled; it is {after}"
        return self._move(Event.RESUME, after, now, sentence)

    def poll_drain(self, outstanding: int, now: float) -> Transition:
        """Whether a draining backend with ``outstanding`` requests in flight is done."""
        self._allowed(Event.POLL)
        deadline = self._drain_deadline
        assert deadline is not None  # set whenever the state is draining
        if outstanding <= 0:
            sentence = f"{self.backend} is removed: drained, no request in flight"
            return self._move(Event.POLL, State.REMOVED, now, sentence)
        if now >= deadline:
            sentence = (
                f"{self.backend} is removed: the drain timed out with "
                f"{outstanding} request{'s' * (outstanding != 1)} in flight"
            )
            return self._move(Event.POLL, State.REMOVED, now, sentence)
        sentence = (
            f"{self.backend} is draining: {outstanding} in flight, {_seconds(deadline - now)} left"
        )
        return self._move(Event.POLL, State.DRAINING, now, sentence)

    def statistics(self) -> HealthStatistics:
        return HealthStatistics(
            backend=self.backend,
            state=self._state,
            health=self._health,
            checks=self._checks,
            failed_checks=self._failed,
            changes=self._changes,
            last_change_at=self._last_change_at,
            next_check_at=self.next_check_at,
            up_since=self._up_since,
        )

    # -- internals ----------------------------------------------------------------------

    def _from_health(self) -> State:
        rise, top = self.policy.rise, self.policy.rise + self.policy.fall - 1
        if self._health == 0:
            return State.DOWN
        if self._health < rise:
            return State.RISING
        return State.UP if self._health == top else State.FALLING

    def _allowed(self, event: Event) -> None:
        """Refuse, before anything changes, an event the state does not allow."""
        _TABLE.outcomes(self._state, event, subject=self.backend)

    def _move(self, event: Event, to: State, now: float, sentence: str) -> Transition:
        before = self._state
        _TABLE.fire(before, event, to, subject=self.backend)
        if to is not before:
            self._state = to
            self._changes += 1
            self._last_change_at = now
        return Transition(self.backend, event, before, to, now, sentence)

    def _sentence(self, before_health: int, after: State) -> str:
        name, rise, fall = self.backend, self.policy.rise, self.policy.fall
        top = rise + fall - 1
        if self._unconfirmed:
            if after is State.UP:
                return f"{name} is up: its first check passed"
            if after is State.DOWN:
                return f"{name} is down: its first check failed (it was trusted until checked)"
        match self._state, after:
            case State.UP, State.UP:
                return f"{name} is up: check passed"
            case State.DOWN, State.DOWN:
                return f"{name} is down: check failed"
            case _, State.RISING:
                return f"{name} is rising: check passed ({self._health}/{rise} towards up)"
            case _, State.FALLING:
                counted = top - self._health
                return f"{name} is falling: check failed ({counted}/{fall} towards down)"
            case State.FALLING, State.UP:
                forgiven = top - before_health
                return f"{name} is up again: check passed, {forgiven} failure{'s' * (forgiven != 1)} forgiven"
            case _, State.UP:
                return f"{name} is up: {rise} check{'s' * (rise != 1)} passed in a row"
            case State.RISING, State.DOWN:
                return f"{name} is down again: check failed before {rise} passes in a row"
        counted = top - before_health + 1
        return f"{name} is down: check failed ({counted}/{fall} in a row)"


def _seconds(duration: float) -> str:
    return f"{max(duration, 0.0):.3g} s"
