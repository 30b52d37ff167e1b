"""A crashed process waits out an exponential backoff, then is spawned again."""

import pytest
from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.model import RestartPolicy
from millionscale.topology.supervision import Spawn, backoff_delay


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (6, 16.0), (7, 30.0), (50, 30.0)],
)
def test_backoff_doubles_from_the_initial_delay_up_to_the_maximum(attempt, seconds):
    policy = RestartPolicy(backoff_initial_s=0.5, backoff_max_s=30.0)

    assert backoff_delay(policy, attempt) == seconds


def test_a_crash_moves_the_process_to_backoff_and_says_when_it_restarts():
    clock = FakeClock()
    core = supervision(clock, web=plan(backoff_initial_s=0.5, max_restarts=5))
    bring_up(core, {"web": 100})

    core.exited("web", 1)

    assert core.phase("web") is Phase.BACKOFF
    assert core.journal[-1] == "web: exited with code 1; restart 1 of 5 in 0.5 s"
    assert core.status()[0].pid is None


def test_the_process_is_not_spawned_again_before_its_delay_is_over():
    clock = FakeClock()
    core = supervision(clock, web=plan(backoff_initial_s=0.5))
    bring_up(core, {"web": 100})
    core.exited("web", 1)

    clock.jump(0.49)
    actions = core.step()

    assert actions == []
    assert core.next_deadline() == pytest.approx(clock.now() + 0.01)


def test_the_process_is_spawned_again_once_its_delay_is_over():
    clock = FakeClock()
    core = supervision(clock, web=plan(backoff_initial_s=0.5))
    bring_up(core, {"web": 100})
    core.exited("web", 1)

    clock.jump(0.5)
    actions = core.step()

    assert actions == [Spawn("web")]
    assert core.journal[-1] == "web: restarting (restart 1)"
    assert core.status()[0].restarts == 1


def test_each_crash_in_the_window_doubles_the_delay():
    clock = FakeClock()
    core = supervision(clock, web=plan(backoff_initial_s=0.5, max_restarts=5))
    bring_up(core, {"web": 100})
    core.exited("web", 1)
    clock.jump(0.5)
    bring_up(core, {"web": 101})

    core.exited("web", -11)

    assert core.journal[-1] == "web: killed by signal 11; restart 2 of 5 in 1.0 s"


def test_a_restart_that_is_ready_again_counts_in_the_status():
    clock = FakeClock()
    core = supervision(clock, web=plan(backoff_initial_s=0.5))
    bring_up(core, {"web": 100})
    core.exited("web", 1)
    clock.jump(0.5)

    bring_up(core, {"web": 101})

    [web] = core.status()
    assert (web.state, web.pid, web.restarts) == ("ready", 101, 1)
