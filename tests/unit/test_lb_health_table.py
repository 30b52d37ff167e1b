"""Whatever happens, the health state machine takes only transitions its table holds."""

from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb import (
    TRANSITIONS,
    Event,
    HealthCheck,
    HealthPolicy,
    IllegalTransition,
    InitState,
    State,
    Transition,
)

steps = st.lists(
    st.tuples(st.sampled_from(Event), st.booleans()),  # the event, and: check ok / requests left
    max_size=40,
)


def apply(health: HealthCheck, event: Event, flag: bool, now: float) -> Transition:
    match event:
        case Event.PASSED | Event.FAILED:
            return health.on_check(event is Event.PASSED, now)
        case Event.DRAIN:
            return health.drain(now)
        case Event.RESUME:
            return health.resume(now)
        case Event.POLL:
            return health.poll_drain(int(flag), now)


@given(
    init=st.sampled_from(InitState),
    rise=st.integers(1, 4),
    fall=st.integers(1, 4),
    script=steps,
)
def test_every_transition_is_in_the_table_and_every_other_event_raises(init, rise, fall, script):
    health = HealthCheck("web-1", now=0.0, policy=HealthPolicy(rise=rise, fall=fall), init=init)
    for step, (event, flag) in enumerate(script, start=1):
        if event in (Event.PASSED, Event.FAILED):
            event = Event.PASSED if flag else Event.FAILED
        before = health.state

        try:
            transition = apply(health, event, flag, float(step))
        except IllegalTransition:
            assert (before, event) not in TRANSITIONS
            assert health.state is before
            continue

        assert transition.after in TRANSITIONS[before, event]
        assert health.state is transition.after
        assert health.serving == (health.state in (State.UP, State.FALLING))


@given(rise=st.integers(1, 4), fall=st.integers(1, 4), results=st.lists(st.booleans()))
def test_the_counter_stays_within_haproxys_range(rise, fall, results):
    health = HealthCheck("web-1", now=0.0, policy=HealthPolicy(rise=rise, fall=fall))

    counters = []
    for ok in results:
        health.on_check(ok, 0.0)
        counters.append(health.statistics().health)

    assert all(0 <= c <= rise + fall - 1 for c in counters)
