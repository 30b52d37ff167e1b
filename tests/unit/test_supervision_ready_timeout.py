"""A process not ready within its readiness timeout is killed. Before it was ever
ready, that fails it (``up`` waits no longer than the timeout); once it has been
ready, the exit is a crash like any other and it is restarted."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Kill, Spawn


def _spawned_and_probing(clock: FakeClock, **options):
    core = supervision(clock, web=plan(**options))
    core.step()
    core.spawned("web", 100)
    core.step()  # the first probe, left unanswered
    return core


def _restarted_after_being_ready(clock: FakeClock, **options):
    """web was ready, crashed, and is starting again, its first probe unanswered."""
    core = supervision(clock, web=plan(**options))
    bring_up(core, {"web": 100})
    core.exited("web", 1)
    clock.jump(core.next_deadline() - clock.now())
    core.step()
    core.spawned("web", 101)
    core.step()
    return core


def test_before_it_was_ever_ready_the_timeout_kill_fails_the_process():
    clock = FakeClock()
    core = _spawned_and_probing(clock, timeout_s=5)
    clock.jump(5.0)
    core.step()

    core.exited("web", -9, cause="RuntimeError: no database node answers as the primary")

    assert core.phase("web") is Phase.FAILED
    assert core.journal[-1] == (
        "web: not ready within 5 s (killed by signal 9); failed; "
        "last error: RuntimeError: no database node answers as the primary"
    )


def test_the_process_is_killed_when_its_ready_timeout_passes():
    clock = FakeClock()
    core = _spawned_and_probing(clock, timeout_s=5)

    clock.jump(4.9)
    before = core.step()
    clock.jump(0.1)
    at_deadline = core.step()

    assert before == []
    assert at_deadline == [Kill("web")]
    assert core.journal[-1] == "web: not ready within 5 s; killing it"


def test_the_timeout_kill_is_sent_once_not_on_every_step():
    clock = FakeClock()
    core = _spawned_and_probing(clock, timeout_s=5)
    clock.jump(5.0)
    core.step()

    clock.jump(10.0)
    later = core.step()

    assert later == []
    assert core.next_deadline() is None  # nothing to do until the exit is reported


def test_once_it_has_been_ready_the_exit_after_a_timeout_kill_is_a_crash_and_restarted():
    clock = FakeClock()
    core = _restarted_after_being_ready(clock, timeout_s=5, backoff_initial_s=0.5)
    clock.jump(5.0)
    core.step()

    core.exited("web", -9)

    assert core.phase("web") is Phase.BACKOFF
    assert core.journal[-1] == (
        "web: not ready within 5 s (killed by signal 9); restart 2 of 5 in 1.0 s"
    )


def test_a_clean_exit_after_a_timeout_kill_is_still_a_failure():
    clock = FakeClock()
    core = _restarted_after_being_ready(clock, timeout_s=5, policy="on-failure")
    clock.jump(5.0)
    core.step()

    core.exited("web", 0)

    assert core.phase("web") is Phase.BACKOFF
    assert core.journal[-1].startswith("web: not ready within 5 s (exited with code 0); restart 2")


def test_with_policy_never_the_timed_out_process_is_failed():
    clock = FakeClock()
    core = _spawned_and_probing(clock, timeout_s=5, policy="never")
    clock.jump(5.0)
    core.step()

    core.exited("web", -9)

    assert core.phase("web") is Phase.FAILED
    assert (
        core.journal[-1] == "web: not ready within 5 s (killed by signal 9); not restarted (never)"
    )


def test_a_probe_answer_arriving_after_the_kill_is_ignored():
    clock = FakeClock()
    core = _spawned_and_probing(clock, timeout_s=5)
    clock.jump(5.0)
    core.step()

    core.probed("web", ok=True)

    assert core.phase("web") is Phase.STARTING
    assert not core.all_ready


def test_a_process_restarted_after_being_ready_gets_a_fresh_ready_timeout():
    clock = FakeClock()
    core = _restarted_after_being_ready(clock, timeout_s=5, backoff_initial_s=0.5)
    clock.jump(5.0)
    core.step()
    core.exited("web", -9)
    clock.jump(1.0)
    assert core.step() == [Spawn("web")]
    core.spawned("web", 102)
    core.step()

    clock.jump(4.9)
    before = core.step()
    clock.jump(0.1)
    at_deadline = core.step()

    assert before == []
    assert at_deadline == [Kill("web")]
