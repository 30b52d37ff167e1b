"""The purge log: numbered purges, what a follower is given, gaps, acknowledgements."""

import pytest

from millionscale.cdn.feed import Batch, Entry, PurgeError, PurgeLog
from millionscale.cdn.purge import Purge
from millionscale.testing import FakeClock


def _purge(value: str = "photo-1") -> Entry:
    return Entry(Purge.tag(value), issued_at=0.0)


def test_a_first_contact_starts_at_the_end_with_nothing_to_purge():
    log = PurgeLog(FakeClock(), epoch="e1")
    log.append(_purge("a"))

    batch = log.since(0, None)

    assert (batch.epoch, batch.purges, batch.last, batch.gap) == ("e1", (), 1, False)


def test_a_follower_gets_every_purge_after_its_position_in_order():
    log = PurgeLog(FakeClock(), epoch="e1")
    for value in ("a", "b", "c"):
        log.append(_purge(value))

    batch = log.since(1, "e1")

    assert [p.purge.value for p in batch.purges] == ["b", "c"]
    assert (batch.first, batch.last) == (2, 3)


def test_a_follower_older_than_the_log_keeps_is_told_of_a_gap():
    log = PurgeLog(FakeClock(), entries=2, epoch="e1")
    for value in ("a", "b", "c"):
        log.append(_purge(value))

    assert [p.purge.value for p in log.since(1, "e1").purges] == ["b", "c"]  # 2 and 3 kept
    assert log.since(0, "e1").gap  # purge 1 is gone: it cannot know what it missed


def test_a_follower_of_another_epoch_is_told_of_a_gap():
    log = PurgeLog(FakeClock(), epoch="e2")

    assert log.since(0, "e1").gap
    assert log.since(5, "e2").gap  # ahead of a log that restarted under the same name


def test_asking_past_a_number_acknowledges_it():
    clock = FakeClock()
    log = PurgeLog(clock, epoch="e1")
    seq = log.append(_purge())
    log.ack("edge-1", 0)
    log.ack("edge-2", 0)

    log.ack("edge-1", seq)

    assert log.acknowledged(seq) == (["edge-1"], ["edge-2"])


def test_followers_not_heard_from_recently_do_not_hold_up_an_acknowledgement():
    clock = FakeClock()
    log = PurgeLog(clock, epoch="e1")
    log.ack("gone", 0)
    clock.jump(60)
    seq = log.append(_purge())
    log.ack("edge-1", seq)

    assert log.acknowledged(seq, since=clock() - 30) == (["edge-1"], [])


def test_a_batch_survives_its_json_round_trip():
    batch = Batch("e1", 2, 3, (_purge("a"), Entry(Purge.prefix("/static/", soft=True), 5.0)))

    assert Batch.from_json(batch.to_json()) == batch


def test_a_purge_of_everything_survives_its_json_round_trip():
    batch = Batch("e1", 1, 1, (Entry(Purge.everything(soft=True), 5.0),))

    assert Batch.from_json(batch.to_json()) == batch


def test_a_batch_holding_what_is_no_purge_is_refused():
    data = Batch("e1", 1, 1, (_purge("a"),)).to_json()
    data["purges"][0]["value"] = "two words"

    with pytest.raises(PurgeError, match="no purge"):
        Batch.from_json(data)
