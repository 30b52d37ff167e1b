"""The lifecycle is a table: listed moves work, every other move raises."""

import itertools

import pytest

from millionscale.topology.lifecycle import (
    PUBLIC_STATE,
    TRANSITIONS,
    IllegalTransition,
    Phase,
    Transition,
    advance,
)

UNLISTED = [
    (phase, transition)
    for phase, transition in itertools.product(Phase, Transition)
    if (phase, transition) not in TRANSITIONS
]


@pytest.mark.parametrize(
    ("phase", "transition", "after"),
    [(phase, transition, after) for (phase, transition), after in TRANSITIONS.items()],
    ids=[f"{phase}-{transition}" for phase, transition in TRANSITIONS],
)
def test_every_listed_transition_leads_to_its_phase(phase, transition, after):
    assert advance(phase, transition) is after


@pytest.mark.parametrize(("phase", "transition"), UNLISTED, ids=[f"{p}-{t}" for p, t in UNLISTED])
def test_every_unlisted_transition_raises(phase, transition):
    with pytest.raises(IllegalTransition, match=f"no transition {transition} from {phase}"):
        advance(phase, transition)


@pytest.mark.parametrize(
    ("phase", "transition", "after"),
    [
        (Phase.PENDING, Transition.SPAWN, Phase.STARTING),
        (Phase.STARTING, Transition.READY, Phase.READY),
        (Phase.READY, Transition.CRASH, Phase.BACKOFF),
        (Phase.BACKOFF, Transition.SPAWN, Phase.STARTING),
        (Phase.STARTING, Transition.GIVE_UP, Phase.FAILED),
        (Phase.PENDING, Transition.DEPENDENCY_FAILED, Phase.FAILED),
        (Phase.READY, Transition.STOP, Phase.STOPPING),
        (Phase.STOPPING, Transition.EXITED, Phase.STOPPED),
        (Phase.PENDING, Transition.STOP, Phase.STOPPED),
    ],
)
def test_the_moves_drawn_in_the_module_diagram_are_in_the_table(phase, transition, after):
    assert TRANSITIONS[(phase, transition)] is after


@pytest.mark.parametrize(
    ("phase", "transition"),
    [
        (Phase.FAILED, Transition.SPAWN),  # failed is final until a new `up`
        (Phase.STOPPED, Transition.SPAWN),
        (Phase.PENDING, Transition.READY),  # ready without ever running
        (Phase.STOPPING, Transition.CRASH),  # an exit while stopping is never a crash
        (Phase.READY, Transition.DEPENDENCY_FAILED),
    ],
)
def test_moves_that_would_hide_a_supervisor_bug_are_illegal(phase, transition):
    with pytest.raises(IllegalTransition):
        advance(phase, transition)


def test_stop_is_accepted_in_every_phase_but_stopping():
    # Stopping twice must be harmless for processes already at rest.
    accepted = {phase for phase, transition in TRANSITIONS if transition is Transition.STOP}

    assert accepted == set(Phase) - {Phase.STOPPING}


def test_every_phase_has_a_public_state():
    assert set(PUBLIC_STATE) == set(Phase)


def test_public_states_are_the_four_of_the_contract():
    assert set(PUBLIC_STATE.values()) == {"starting", "ready", "failed", "stopped"}


def test_every_phase_is_reachable_from_pending():
    reached = {Phase.PENDING}
    frontier = [Phase.PENDING]
    while frontier:
        phase = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is phase and target not in reached:
                reached.add(target)
                frontier.append(target)

    assert reached == set(Phase)
