"""A process that keeps crashing is marked failed after max_restarts within window_s."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase


def _crash_and_restart(core, clock: FakeClock, pid: int) -> None:
    """The process crashes now; wait out its backoff and bring it up again."""
    core.exited("web", 1)
    clock.jump(core.next_deadline() - clock.now())
    bring_up(core, {"web": pid})


def test_the_crash_after_the_last_allowed_restart_marks_the_process_failed():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=3, window_s=60, backoff_initial_s=1))
    bring_up(core, {"web": 100})
    for pid in (101, 102, 103):
        _crash_and_restart(core, clock, pid)

    core.exited("web", 1)

    assert core.phase("web") is Phase.FAILED
    assert core.journal[-1] == "web: exited with code 1; failed after 3 restarts within 60 s"
    assert core.any_failed


def test_the_journal_counts_each_restart_against_the_limit():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=3, window_s=60, backoff_initial_s=1))
    bring_up(core, {"web": 100})

    for pid in (101, 102, 103):
        _crash_and_restart(core, clock, pid)

    restarts = [line for line in core.journal if "; restart " in line]
    assert restarts == [
        "web: exited with code 1; restart 1 of 3 in 1.0 s",
        "web: exited with code 1; restart 2 of 3 in 2.0 s",
        "web: exited with code 1; restart 3 of 3 in 4.0 s",
    ]


def test_a_failed_process_is_never_spawned_again():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=1, window_s=60, backoff_initial_s=1))
    bring_up(core, {"web": 100})
    _crash_and_restart(core, clock, 101)
    core.exited("web", 1)

    clock.jump(3600)
    actions = core.step()

    assert actions == []
    assert core.next_deadline() is None


def test_with_no_restarts_allowed_the_first_crash_fails_the_process():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=0))
    bring_up(core, {"web": 100})

    core.exited("web", 1)

    assert core.phase("web") is Phase.FAILED
    assert core.journal[-1] == "web: exited with code 1; failed after 0 restarts within 60 s"


def test_crashes_older_than_the_window_are_forgotten():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=2, window_s=10, backoff_initial_s=1))
    bring_up(core, {"web": 100})
    _crash_and_restart(core, clock, 101)
    _crash_and_restart(core, clock, 102)  # the limit is reached: one more crash now would fail

    clock.jump(20)
    core.exited("web", 1)

    assert core.phase("web") is Phase.BACKOFF
    assert core.journal[-1] == "web: exited with code 1; restart 1 of 2 in 1.0 s"


def test_only_the_crashes_inside_the_window_count():
    clock = FakeClock()
    core = supervision(clock, web=plan(max_restarts=2, window_s=10, backoff_initial_s=1))
    bring_up(core, {"web": 100})
    _crash_and_restart(core, clock, 101)  # crash at t0, back at t0+1
    clock.jump(8)
    _crash_and_restart(core, clock, 102)  # crash at t0+9, back at t0+11

    clock.jump(1)  # t0+12: the first crash is out of the window, the second is not
    core.exited("web", 1)

    assert core.journal[-1] == "web: exited with code 1; restart 2 of 2 in 2.0 s"
