"""A new connection is forwarded, held by a partition, or reset at once."""

import random

import pytest

from millionscale.chaos import (
    Faults,
    Forward,
    Hold,
    NewConnections,
    OpenConnections,
    Partition,
    Refuse,
    admit,
)


def test_without_faults_a_connection_is_forwarded_at_once():
    decision = admit(Faults(), None, random.Random(1))

    assert decision == Forward(0.0, "forwarded")


def test_a_connect_delay_is_passed_on_and_said():
    decision = admit(Faults(connect_delay_s=0.25), None, random.Random(1))

    assert isinstance(decision, Forward)
    assert decision.connect_delay_s == 0.25
    assert decision.reason == "forwarded after a 250 ms connect delay"


def test_a_partition_that_hangs_holds_new_connections():
    decision = admit(Faults(), Partition(NewConnections.HANG), random.Random(1))

    assert isinstance(decision, Hold)
    assert "partitioned" in decision.reason


@pytest.mark.parametrize("existing", list(OpenConnections))
def test_a_partition_that_refuses_resets_new_connections(existing):
    decision = admit(Faults(), Partition(NewConnections.REFUSE, existing), random.Random(1))

    assert isinstance(decision, Refuse)


def test_a_partition_outranks_the_reset_share():
    decision = admit(Faults(reset_new=1.0), Partition(), random.Random(1))

    assert isinstance(decision, Hold)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.5, 1.0])
def test_about_the_reset_share_of_new_connections_is_reset(share):
    rng = random.Random(11)

    resets = sum(isinstance(admit(Faults(reset_new=share), None, rng), Refuse) for _ in range(4000))

    assert resets / 4000 == pytest.approx(share, abs=0.025)


def test_no_randomness_is_drawn_without_a_reset_share():
    rng = random.Random(5)
    before = rng.getstate()

    admit(Faults(connect_delay_s=0.1), None, rng)

    assert rng.getstate() == before
