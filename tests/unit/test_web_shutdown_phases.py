"""Graceful shutdown's phases: SIGTERM drains for a while, then stops; a second signal forces."""

import asyncio
import signal

import pytest

from millionscale.testing import FakeClock
from millionscale.web import GracefulShutdown, Phase
from millionscale.web.shutdown import TRANSITIONS, Event, IllegalTransition, ShutdownState


def test_a_process_starts_serving_and_ready():
    shutdown = GracefulShutdown(5.0, clock=FakeClock())

    assert shutdown.phase is Phase.SERVING
    assert not shutdown.draining


def test_sigterm_starts_the_drain_and_says_for_how_long():
    shutdown = GracefulShutdown(5.0, clock=FakeClock())

    said = shutdown.on_signal(signal.SIGTERM)

    assert shutdown.phase is Phase.DRAINING
    assert shutdown.draining
    assert said == "SIGTERM: draining for 5 s; /readyz answers 503, requests are served"


def test_the_drain_lasts_its_period_then_the_process_stops():
    clock = FakeClock()
    shutdown = GracefulShutdown(5.0, clock=clock)
    shutdown.on_signal(signal.SIGTERM)

    clock.jump(4.5)
    early = shutdown.on_tick()
    clock.jump(0.5)
    due = shutdown.on_tick()

    assert early is None
    assert due == "drain period over: stopping; no new connections, requests in flight finish"
    assert shutdown.phase is Phase.STOPPING


def test_a_second_sigterm_while_draining_forces_the_exit():
    shutdown = GracefulShutdown(5.0, clock=FakeClock())
    shutdown.on_signal(signal.SIGTERM)

    said = shutdown.on_signal(signal.SIGTERM)

    assert shutdown.phase is Phase.FORCED
    assert said == "SIGTERM: forced exit; requests in flight are cut"


def test_a_signal_while_stopping_forces_the_exit():
    shutdown = GracefulShutdown(0.0, clock=FakeClock())
    shutdown.on_signal(signal.SIGTERM)

    shutdown.on_signal(signal.SIGINT)

    assert shutdown.phase is Phase.FORCED


def test_a_zero_drain_stops_at_once_on_sigterm():
    shutdown = GracefulShutdown(0.0, clock=FakeClock())

    said = shutdown.on_signal(signal.SIGTERM)

    assert shutdown.phase is Phase.STOPPING
    assert said.startswith("SIGTERM: stopping")


def test_sigint_from_a_terminal_skips_the_drain():
    shutdown = GracefulShutdown(5.0, clock=FakeClock())

    shutdown.on_signal(signal.SIGINT)

    assert shutdown.phase is Phase.STOPPING


def test_readiness_fails_with_draining_from_sigterm_on_without_asking_the_check():
    shutdown = GracefulShutdown(5.0, clock=FakeClock())
    asked = []

    async def check():
        asked.append(True)
        return None

    ready = shutdown.ready(check)
    before = asyncio.run(ready())  # type: ignore[arg-type, var-annotated]
    shutdown.on_signal(signal.SIGTERM)
    after = asyncio.run(ready())  # type: ignore[arg-type, var-annotated]

    assert (before, after) == (None, "draining")
    assert asked == [True]


def test_every_phase_has_an_answer_to_both_signals():
    for phase in Phase:
        for event in (Event.SIGTERM, Event.SIGINT):
            assert (phase, event) in TRANSITIONS


def test_the_drain_period_ends_only_from_draining():
    assert [phase for (phase, event) in TRANSITIONS if event is Event.DRAINED] == [Phase.DRAINING]


def test_a_transition_the_table_lacks_raises():
    with pytest.raises(IllegalTransition, match="no transition drain period over from serving"):
        ShutdownState(Phase.SERVING).on(Event.DRAINED, now=0.0, drain_s=5.0)


@pytest.mark.parametrize("drain_s", [-1.0, float("nan")])
def test_a_negative_or_nan_drain_is_refused(drain_s):
    with pytest.raises(ValueError, match="drain_s must be 0 or more"):
        GracefulShutdown(drain_s)
