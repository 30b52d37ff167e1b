"""A replica's staleness bound comes from the primary's position samples, not replay timestamps."""

import math

from millionscale.db import LsnSample, keep_recent, staleness_bound

HISTORY = (LsnSample(at=10.0, lsn=100), LsnSample(at=10.2, lsn=200), LsnSample(at=10.4, lsn=300))


def test_a_replica_at_the_newest_sample_is_stale_by_the_time_since_it():
    assert math.isclose(staleness_bound(HISTORY, replay_lsn=300, now=10.5), 0.1)


def test_a_replica_between_samples_is_dated_by_the_newest_sample_it_has_passed():
    assert math.isclose(staleness_bound(HISTORY, replay_lsn=250, now=10.5), 0.3)


def test_an_idle_primary_keeps_a_caught_up_replica_fresh():
    idle = (LsnSample(at=0.0, lsn=500), LsnSample(at=100.0, lsn=500))

    assert math.isclose(staleness_bound(idle, replay_lsn=500, now=100.2), 0.2)


def test_a_replica_behind_every_sample_or_without_a_position_is_unboundedly_stale():
    assert staleness_bound(HISTORY, replay_lsn=99, now=10.5) == math.inf
    assert staleness_bound(HISTORY, replay_lsn=None, now=10.5) == math.inf
    assert staleness_bound((), replay_lsn=1000, now=10.5) == math.inf


def test_history_drops_samples_older_than_the_window_but_keeps_the_newest():
    kept = keep_recent(HISTORY, LsnSample(at=11.0, lsn=400), keep_s=0.7)

    assert kept == (LsnSample(at=10.4, lsn=300), LsnSample(at=11.0, lsn=400))
    assert keep_recent((), LsnSample(at=1.0, lsn=1), keep_s=0.0) == (LsnSample(at=1.0, lsn=1),)
