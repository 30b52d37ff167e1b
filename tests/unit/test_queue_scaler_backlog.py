"""With the rate known, a deep queue of young jobs scales up before any job is old, and a
scale-down must leave the backlog under half its target."""

from queue_scaler_factories import scaler, status

from millionscale.queue import Hold, Scale


def test_a_backlog_over_its_target_scales_to_the_count_that_clears_it():
    core, clock = scaler(max_workers=64)

    decision = core.step(clock(), status(ready=240, age=1.0), workers=3, rate=2.0)  # 40 s

    assert decision == Scale(
        7,
        "3 → 7 workers: 240 jobs would take 40.0 s at 2 jobs/s per worker, over the 10 s target "
        "(12 wanted, at most double or +4 per step)",
    )


def test_the_signal_asking_for_more_workers_speaks():
    core, clock = scaler(max_workers=64)

    decision = core.step(clock(), status(ready=30, age=40.0), workers=3, rate=2.0)

    assert isinstance(decision, Scale)
    assert "the oldest job waited 40.0 s" in decision.reason  # 24 wanted, the backlog 2


def test_a_backlog_within_its_target_holds_and_says_both():
    core, clock = scaler()

    decision = core.step(clock(), status(ready=50, age=3.0), workers=4, rate=2.0)  # 6.2 s

    assert decision == Hold(
        "holding 4 workers: the oldest job waited 3.0 s, within the 5 s target; "
        "50 jobs would take 6.2 s at 2 jobs/s per worker, within the 10 s target"
    )


def test_young_jobs_do_not_scale_down_if_one_fewer_could_not_keep_up():
    core, clock = scaler(stabilisation_s=0.0, down_cooldown_s=0.0)

    decision = core.step(clock(), status(ready=31, age=1.0), workers=4, rate=2.0)  # 3: 5.2 s

    assert isinstance(decision, Hold)


def test_young_jobs_scale_down_if_one_fewer_keeps_up():
    core, clock = scaler(stabilisation_s=0.0, down_cooldown_s=0.0)

    decision = core.step(clock(), status(ready=12, age=1.0), workers=4, rate=2.0)

    assert decision == Scale(
        3,
        "4 → 3 workers: the oldest job waited 1.0 s, at most 50% of the 5 s target, "
        "and 3 workers would clear 12 jobs in 2.0 s, quiet for 0.0 s",
    )


def test_a_rate_too_small_to_measure_asks_for_the_maximum_not_infinity():
    core, clock = scaler(max_workers=8)

    decision = core.step(clock(), status(ready=100, age=1.0), workers=4, rate=5e-324)

    assert decision == Scale(
        8,
        "4 → 8 workers: 100 jobs would take inf s at 4.94e-324 jobs/s per worker, "
        "over the 10 s target (1000000 wanted, at most 8)",
    )
