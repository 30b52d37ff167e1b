"""Whatever the queue does, the scaler's decisions stay within bounds, keep their cooldowns and
their step limits.

The property drives a scaler with arbitrary settings through an arbitrary sequence of
statuses, rates and pauses, applying every Scale as it comes (the count starts within
bounds, so no change is a bounds correction), and checks every decision.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from queue_scaler_factories import status

from millionscale.queue import Hold, Scale, Scaler, ScalerSettings
from millionscale.testing import FakeClock

knobs = st.builds(
    lambda low, span, up, down, window, step: ScalerSettings(
        min_workers=low,
        max_workers=low + span,
        up_cooldown_s=up,
        down_cooldown_s=down,
        stabilisation_s=window,
        max_step_up=step,
    ),
    st.integers(1, 4),
    st.integers(0, 30),
    st.sampled_from([0.0, 1.0, 10.0]),
    st.sampled_from([0.0, 15.0, 60.0]),
    st.sampled_from([0.0, 30.0, 120.0]),
    st.integers(1, 6),
)
statuses = st.builds(
    lambda ready, in_flight, age: status(ready=ready, in_flight=in_flight, age=age),
    st.integers(0, 5000),
    st.integers(0, 50),
    st.floats(0.0, 600.0),
)
steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 2.0, 5.0, 30.0]),
        statuses,
        st.one_of(st.none(), st.floats(0.0, 50.0)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(knobs=knobs, steps=steps, start=st.integers(0, 30))
def test_decisions_stay_within_bounds_cooldowns_and_step_limits(knobs, steps, start):
    core, clock = Scaler(knobs), FakeClock()
    workers = knobs.min_workers + start % (knobs.max_workers - knobs.min_workers + 1)
    last_change: float | None = None

    for pause, one, rate in steps:
        clock.jump(pause)
        decision = core.step(clock(), one, workers, rate)

        assert decision.reason
        if isinstance(decision, Hold):
            continue
        assert isinstance(decision, Scale)
        assert knobs.min_workers <= decision.to <= knobs.max_workers
        if decision.to > workers:
            assert decision.to <= workers + max(workers, knobs.max_step_up)
            cooldown = knobs.up_cooldown_s
        else:
            assert decision.to == workers - 1
            cooldown = knobs.down_cooldown_s
        if last_change is not None:
            assert clock() - last_change >= cooldown
        last_change, workers = clock(), decision.to
