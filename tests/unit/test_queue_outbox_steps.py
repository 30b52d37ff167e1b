"""A relay step reads as one sentence; a relay refuses knobs it cannot run with."""

import pytest

from millionscale.errors import ConfigError
from millionscale.queue import OutboxRelay, OutboxStatistics, Relayed


def test_a_step_that_moved_everything_says_how_many():
    assert Relayed(published=3, rejected=0, more=False).sentence == "published 3 job(s)"


def test_a_step_that_moved_rows_aside_says_so():
    relayed = Relayed(published=2, rejected=1, more=False)

    assert relayed.sentence == "published 2 job(s), moved 1 row(s) aside as not jobs"


def test_a_step_held_back_by_the_broker_says_why():
    relayed = Relayed(1, 0, more=False, held="the broker failed: connection refused")

    assert relayed.sentence == (
        "published 1 job(s), then held the rest: the broker failed: connection refused"
    )


@pytest.mark.parametrize(
    "knobs",
    [{"batch": 0}, {"poll_interval_s": 0.0}, {"publish_timeout_s": -1.0}, {"retry_s": 0.0}],
)
def test_knobs_it_cannot_run_with_are_refused(knobs):
    with pytest.raises(ConfigError):
        OutboxRelay("postgresql://localhost/db", broker=None, **knobs)  # type: ignore[arg-type]


def test_a_new_relay_has_moved_nothing_and_counts_both_sides_up():
    relay = OutboxRelay("postgresql://localhost/db", broker=None)  # type: ignore[arg-type]

    assert relay.statistics() == OutboxStatistics(
        pending=0,
        oldest_pending_age_s=0.0,
        published=0,
        publish_failures=0,
        rejected=0,
        broker_up=True,
        database_up=True,
    )
