"""The life of one supervised process, as a table.

Rules this file keeps:

- a process is in exactly one :class:`Phase`;
- it changes phase only through a :class:`Transition` listed in
  :data:`TRANSITIONS` (taken through a
  :class:`~millionscale.statetable.StateTable`); anything else raises
  :class:`~millionscale.errors.IllegalTransition`, a bug in the supervisor,
  never a user error;
- which of several exits applies (restart, give up, done) is decided before
  the table is consulted, by the restart policy: the table only says which
  moves exist.

    pending ──spawn──▶ starting ──ready──▶ ready
       │                  │  ▲                │
       │            crash │  │ spawn          │ crash
       │                  ▼  │                ▼
       │               backoff ◀──────────────┘
       │                  │
       ├──dep_failed──▶ failed ◀──give_up── starting, ready, backoff
       │
       └──stop──▶ stopped ◀──exited── stopping ◀──stop── starting, ready
"""

from __future__ import annotations

from enum import StrEnum

from millionscale.errors import IllegalTransition
from millionscale.statetable import StateTable

__all__ = ["PUBLIC_STATE", "TRANSITIONS", "IllegalTransition", "Phase", "Transition", "advance"]


class Phase(StrEnum):
    PENDING = "pending"  # waiting for its dependencies to be ready
    STARTING = "starting"  # spawned, readiness not yet seen
    READY = "ready"
    BACKOFF = "backoff"  # exited; waiting out the restart delay
    STOPPING = "stopping"  # signalled; waiting for it to exit
    STOPPED = "stopped"
    FAILED = "failed"  # will not be started again without a new `up`


class Transition(StrEnum):
    SPAWN = "spawn"
    READY = "ready"
    CRASH = "crash"  # exited; the policy restarts it after a delay
    GIVE_UP = "give_up"  # exited or could not start; the policy does not restart it
    DONE = "done"  # exited cleanly; the policy does not restart it
    DEPENDENCY_FAILED = "dependency_failed"
    STOP = "stop"  # stop requested: signal it, or drop it if it is not running
    EXITED = "exited"  # exited while stopping


TRANSITIONS: dict[tuple[Phase, Transition], Phase] = {
    (Phase.PENDING, Transition.SPAWN): Phase.STARTING,
    (Phase.PENDING, Transition.DEPENDENCY_FAILED): Phase.FAILED,
    (Phase.PENDING, Transition.STOP): Phase.STOPPED,
    (Phase.STARTING, Transition.READY): Phase.READY,
    (Phase.STARTING, Transition.CRASH): Phase.BACKOFF,
    (Phase.STARTING, Transition.GIVE_UP): Phase.FAILED,
    (Phase.STARTING, Transition.DONE): Phase.STOPPED,
    (Phase.STARTING, Transition.STOP): Phase.STOPPING,
    (Phase.READY, Transition.CRASH): Phase.BACKOFF,
    (Phase.READY, Transition.GIVE_UP): Phase.FAILED,
    (Phase.READY, Transition.DONE): Phase.STOPPED,
    (Phase.READY, Transition.STOP): Phase.STOPPING,
    (Phase.BACKOFF, Transition.SPAWN): Phase.STARTING,
    (Phase.BACKOFF, Transition.DEPENDENCY_FAILED): Phase.FAILED,
    (Phase.BACKOFF, Transition.GIVE_UP): Phase.FAILED,  # never ready within its timeout
    (Phase.BACKOFF, Transition.STOP): Phase.STOPPED,
    (Phase.STOPPING, Transition.EXITED): Phase.STOPPED,
    (Phase.FAILED, Transition.STOP): Phase.FAILED,
    (Phase.STOPPED, Transition.STOP): Phase.STOPPED,
}

_TABLE: StateTable[Phase, Transition] = StateTable(TRANSITIONS, name="process lifecycle")

# What `millionscale status` shows: the four states of the public contract.
PUBLIC_STATE: dict[Phase, str] = {
    Phase.PENDING: "starting",
    Phase.STARTING: "starting",
    Phase.BACKOFF: "starting",
    Phase.READY: "ready",
    Phase.STOPPING: "stopped",
    Phase.STOPPED: "stopped",
    Phase.FAILED: "failed",
}


def advance(phase: Phase, transition: Transition) -> Phase:
    """The phase after ``transition`` from ``phase``; raises
    :class:`~millionscale.errors.IllegalTransition` if the table lacks it."""
    return _TABLE.fire(phase, transition)
