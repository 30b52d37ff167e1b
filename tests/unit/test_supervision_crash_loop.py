"""A process that crash-loops ends failed, with the cause its log showed: before
it was ever ready, within its readiness timeout counted from its first spawn;
after, within max_restarts crashes that were not separated by readiness."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Kill, Spawn, Supervision

CAUSE = "millionscale.errors.DatabaseError: no database node answers as the primary"


def _crash_every(core: Supervision, clock: FakeClock, seconds: float, until: float) -> float:
    """Play a process that runs ``seconds`` and exits 1, or is killed at its readiness
    deadline if that comes first, restarted whenever the core says; its probes are
    never answered. Return the time at which the core failed it (or ``until``)."""
    pid = 100
    start = clock.now()
    while clock.now() - start < until and core.phase("web") is not Phase.FAILED:
        if Spawn("web") not in core.step():
            deadline = core.next_deadline()
            assert deadline is not None
            clock.jump(deadline - clock.now())  # a backoff
            continue
        pid += 1
        core.spawned("web", pid)
        core.step()  # its first probe, left unanswered
        exits_at = clock.now() + seconds
        readiness_deadline = core.next_deadline()
        if readiness_deadline is not None and readiness_deadline < exits_at:
            clock.jump(readiness_deadline - clock.now())
            assert core.step() == [Kill("web")]
            core.exited("web", -9, cause=CAUSE)
        else:
            clock.jump(exits_at - clock.now())
            core.exited("web", 1, cause=CAUSE)
    return clock.now() - start


def test_a_process_crashing_every_16_s_before_it_was_ever_ready_fails_within_its_timeout():
    clock = FakeClock()
    core = supervision(clock, web=plan(timeout_s=60, max_restarts=5, window_s=60))

    failed_after = _crash_every(core, clock, seconds=16, until=600)

    assert core.phase("web") is Phase.FAILED
    assert failed_after == 60
    assert core.journal[-1].startswith("web: not ready within 60 s (")
    assert core.journal[-1].endswith(f"; failed; last error: {CAUSE}")


def test_a_process_that_exits_at_once_fails_after_its_restarts_with_the_cause():
    clock = FakeClock()
    core = supervision(clock, web=plan(timeout_s=60, max_restarts=3, backoff_initial_s=0.5))

    failed_after = _crash_every(core, clock, seconds=0.0, until=600)

    assert core.phase("web") is Phase.FAILED
    assert failed_after < 60
    assert core.journal[-1] == (
        "web: exited with code 1; failed after 3 restarts before it was ever ready; "
        f"last error: {CAUSE}"
    )


def test_the_never_ready_budget_also_runs_out_while_waiting_out_a_backoff():
    clock = FakeClock()
    core = supervision(clock, web=plan(timeout_s=10, backoff_initial_s=8, max_restarts=5))
    core.step()
    core.spawned("web", 100)
    clock.jump(6)
    core.exited("web", 1, cause=CAUSE)  # restart due at 14 s, after the 10 s budget

    assert core.next_deadline() == clock.now() + 4
    clock.jump(4)
    core.step()

    assert core.phase("web") is Phase.FAILED
    assert core.journal[-1] == (
        f"web: not ready within 10 s (exited with code 1); failed; last error: {CAUSE}"
    )


def test_after_being_ready_crashes_before_readiness_are_not_forgiven_by_the_window():
    clock = FakeClock()
    core = supervision(clock, web=plan(timeout_s=30, max_restarts=3, window_s=60))
    bring_up(core, {"web": 100})
    clock.jump(100)
    core.exited("web", 1, cause=CAUSE)  # the first crash, from ready

    _crash_every(core, clock, seconds=25, until=1000)  # each one outlasts window / restarts

    assert core.phase("web") is Phase.FAILED
    assert core.journal[-1] == (
        "web: exited with code 1; failed after 3 restarts without being ready again; "
        f"last error: {CAUSE}"
    )


def test_crashes_separated_by_readiness_are_forgiven_by_the_window():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=2, window_s=60, backoff_initial_s=1))
    bring_up(core, {"web": 100})
    for pid in range(101, 110):  # nine crashes, each after 100 s of being ready
        clock.jump(100)
        core.exited("web", 1)
        clock.jump(core.next_deadline() - clock.now())
        bring_up(core, {"web": pid})

    assert core.phase("web") is Phase.READY
