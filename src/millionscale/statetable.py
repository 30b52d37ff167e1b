"""State machines as data: one table of allowed moves, and one way to take them.

Every state machine of millionscale (a supervised process's life, a backend's
health, the failover monitor, a web process's shutdown, the cache's circuit
breaker) keeps its moves in a table and takes them through
:meth:`StateTable.fire`, after h11's ``_state.py``: the table is the
specification, and a move it lacks raises instead of happening.

Rules this file keeps:

- a table maps ``(state, event)`` to the state the event leads to, or to the
  set of states it may lead to when something outside the table decides which
  (a health counter, a restart policy, an election): the table says which moves
  exist, the machine's own code says which one applies;
- :meth:`StateTable.fire` returns the next state; a pair the table lacks raises
  :class:`~millionscale.errors.IllegalTransition` naming the state, the event
  and the events the table allows from that state;
- an event with several outcomes needs the caller to name the one it takes
  (``to=``); an outcome the table does not list for that pair raises too;
- :class:`~millionscale.errors.IllegalTransition` is a
  :class:`~millionscale.errors.MillionscaleBug`: a machine asked for a move its
  table lacks is a bug in its caller. Input a user can get wrong (a drain of
  an unknown backend, a switchover to a primary) is refused with a
  :class:`~millionscale.errors.MillionscaleError` before the table is asked.

A table is built once, at import, from a literal ``dict`` that the machine's
module exports (and documents) as ``TRANSITIONS``; it copies that dict, so
later changes to it change nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from enum import Enum
from typing import Generic, TypeVar

from millionscale.errors import IllegalTransition, MillionscaleBug

__all__ = ["StateTable"]

S = TypeVar("S", bound=Hashable)
E = TypeVar("E", bound=Hashable)


class StateTable(Generic[S, E]):
    """The allowed ``(state, event) -> state`` moves of one state machine.

    ``moves`` maps each allowed pair to its one next state or to a ``frozenset``
    of the states it may lead to (never empty). ``name`` prefixes the messages of
    :class:`~millionscale.errors.IllegalTransition` when :meth:`fire` is given no
    ``subject``. Immutable once built; cheap to consult (one dict lookup).
    """

    __slots__ = ("_allowed", "_moves", "name")

    def __init__(self, moves: Mapping[tuple[S, E], S | frozenset[S]], *, name: str = "") -> None:
        self.name = name
        self._moves: dict[tuple[S, E], frozenset[S]] = {}
        self._allowed: dict[S, tuple[E, ...]] = {}
        for (state, event), to in moves.items():
            outcomes: frozenset[S] = to if isinstance(to, frozenset) else frozenset({to})
            if not outcomes:
                raise MillionscaleBug(
                    f"{name or 'state table'}: {_name(event)} from {_name(state)} leads nowhere"
                )
            self._moves[state, event] = outcomes
            self._allowed[state] = (*self._allowed.get(state, ()), event)

    def fire(self, state: S, event: E, to: S | None = None, *, subject: str = "") -> S:
        """The state that ``event`` leads to from ``state``.

        ``to`` names the outcome the caller takes when the table lists several
        (it may be given when there is one: it must then be that one).
        ``subject`` (a backend's name, a process's) starts the error's message.
        Raises :class:`~millionscale.errors.IllegalTransition` when the table
        lacks the pair, when ``to`` is not one of its outcomes, or when it has
        several and ``to`` is missing.
        """
        outcomes = self.outcomes(state, event, subject=subject)
        if to is None:
            if len(outcomes) == 1:
                return next(iter(outcomes))
            raise IllegalTransition(
                f"{self._prefix(subject)}{_name(event)} from {_name(state)} leads to one of "
                f"{_names(sorted(outcomes, key=_name))}: the caller must say which",
                state=state,
                event=event,
                allowed=self._allowed[state],
            )
        if to not in outcomes:
            raise IllegalTransition(
                f"{self._prefix(subject)}{_name(event)} from {_name(state)} leads to "
                f"{_names(sorted(outcomes, key=_name))}, not {_name(to)}",
                state=state,
                event=event,
                allowed=self._allowed[state],
                to=to,
            )
        return to

    def allows(self, state: S, event: E) -> bool:
        """Whether the table holds ``event`` from ``state``."""
        return (state, event) in self._moves

    def allowed(self, state: S) -> tuple[E, ...]:
        """The events the table holds from ``state``, in table order (none: ``()``)."""
        return self._allowed.get(state, ())

    def outcomes(self, state: S, event: E, *, subject: str = "") -> frozenset[S]:
        """The states ``event`` may lead to from ``state``: what a machine asks before
        it acts, when its own rules pick the outcome. Raises
        :class:`~millionscale.errors.IllegalTransition` when the table lacks the pair."""
        outcomes = self._moves.get((state, event))
        if outcomes is None:
            allowed = self._allowed.get(state, ())
            there = (
                f"allowed from {_name(state)}: {_names(allowed, ', ')}"
                if allowed
                else f"nothing is allowed from {_name(state)}"
            )
            raise IllegalTransition(
                f"{self._prefix(subject)}no transition {_name(event)} from {_name(state)} ({there})",
                state=state,
                event=event,
                allowed=allowed,
            )
        return outcomes

    def _prefix(self, subject: str) -> str:
        who = subject or self.name
        return f"{who}: " if who else ""


def _name(value: object) -> str:
    """How a state or an event reads in a message: an enum member by its value."""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _names(values: Iterable[object], sep: str = " or ") -> str:
    return sep.join(map(_name, values))
