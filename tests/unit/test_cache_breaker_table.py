"""Whatever its callers do, the circuit breaker takes only moves its table holds."""

from hypothesis import given
from hypothesis import strategies as st

from millionscale.cache.breaker import TRANSITIONS, BreakerEvent, BreakerState, CircuitBreaker
from millionscale.testing import FakeClock

calls = st.lists(
    st.one_of(
        st.just("allow"),
        st.just("succeeded"),
        st.just("failed"),
        st.floats(0.0, 3.0).map(lambda s: ("jump", s)),
    ),
    max_size=40,
)


@given(calls)
def test_every_state_change_is_in_the_table(script):
    clock = FakeClock()
    subject = CircuitBreaker(clock=clock, backoff_s=0.5, max_backoff_s=2.0)

    for call in script:
        before = subject.state
        match call:
            case ("jump", seconds):
                clock.jump(seconds)
                continue
            case "allow":
                subject.allow()
            case "succeeded":
                subject.succeeded()
            case "failed":
                subject.failed("refused")
        after = subject.state

        if after is not before:
            assert after in {to for (state, _), to in TRANSITIONS.items() if state is before}


def test_the_table_holds_the_moves_of_the_module_docstring():
    assert TRANSITIONS[BreakerState.CLOSED, BreakerEvent.FAILED] is BreakerState.OPEN
    assert TRANSITIONS[BreakerState.OPEN, BreakerEvent.PAUSE_OVER] is BreakerState.HALF_OPEN
    assert TRANSITIONS[BreakerState.HALF_OPEN, BreakerEvent.SUCCEEDED] is BreakerState.CLOSED
    assert TRANSITIONS[BreakerState.HALF_OPEN, BreakerEvent.FAILED] is BreakerState.OPEN
    assert (BreakerState.CLOSED, BreakerEvent.PAUSE_OVER) not in TRANSITIONS
