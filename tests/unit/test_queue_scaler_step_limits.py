"""A step up at most doubles the count or adds ``max_step_up``, whichever is more; a step down
takes one worker away."""

from queue_scaler_factories import BEHIND, QUIET, scaler, status

from millionscale.queue import Scale


def test_from_one_worker_a_step_adds_up_to_max_step_up():
    core, clock = scaler(max_step_up=4, max_workers=64)

    decision = core.step(clock(), BEHIND, workers=1)  # 30 s of 5: 6 wanted

    assert decision == Scale(
        5,
        "1 → 5 workers: the oldest job waited 30.0 s, over the 5 s target "
        "(6 wanted, at most double or +4 per step)",
    )


def test_from_many_workers_a_step_at_most_doubles():
    core, clock = scaler(max_step_up=4, max_workers=64)

    decision = core.step(clock(), BEHIND, workers=10)

    assert isinstance(decision, Scale)
    assert decision.to == 20


def test_a_small_overshoot_adds_what_the_ratio_asks():
    core, clock = scaler(max_workers=64)

    decision = core.step(clock(), status(ready=10, age=6.0), workers=3)  # 1.2 x: ceil(3.6)

    assert decision == Scale(4, "3 → 4 workers: the oldest job waited 6.0 s, over the 5 s target")


def test_a_step_down_takes_one_worker_however_quiet():
    core, clock = scaler(stabilisation_s=0.0, down_cooldown_s=0.0, max_workers=64)

    decision = core.step(clock(), QUIET, workers=30)

    assert isinstance(decision, Scale)
    assert decision.to == 29
