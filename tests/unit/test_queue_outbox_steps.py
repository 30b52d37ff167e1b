"""A relay step reads as one sentence; a relay refuses knobs it cannot run with."""

import asyncio

import pytest

from millionscale.errors import ConfigError, DatabaseError
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


def test_a_relay_whose_primary_is_not_known_yet_holds_its_rows_and_asks_again():
    asked: list[int] = []

    def primary() -> str:  # as a router not open yet answers
        asked.append(1)
        raise DatabaseError("the router has no primary yet")

    relay = OutboxRelay(primary, broker=None)  # type: ignore[arg-type]

    first = asyncio.run(relay.step())
    second = asyncio.run(relay.step())

    assert first.held == "the outbox's database failed: the router has no primary yet"
    assert second.held == first.held
    assert len(asked) == 2  # asked again for every connection it opens
    assert relay.statistics().database_up is False
