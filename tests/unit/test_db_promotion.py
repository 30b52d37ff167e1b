"""Choosing the standby to promote: never one that lacks an acknowledged commit, unless told to."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.db.promotion import (
    Promote,
    Refuse,
    StandbyReport,
    choose_promotion,
    quorum_to_decide,
)


def up(name: str, lsn: int) -> StandbyReport:
    return StandbyReport(name, reachable=True, flushed_lsn=lsn)


def down(name: str) -> StandbyReport:
    return StandbyReport(name, reachable=False, flushed_lsn=None)


@pytest.mark.parametrize(
    ("standbys", "synchronous", "needed"),
    [(2, 1, 2), (2, 2, 1), (3, 1, 3), (3, 2, 2), (5, 3, 3), (1, 1, 1), (3, 0, 1)],
)
def test_a_lossless_choice_needs_n_minus_k_plus_one_reports(standbys, synchronous, needed):
    assert quorum_to_decide(standbys, synchronous) == needed


def test_an_impossible_quorum_is_an_error():
    with pytest.raises(ValueError, match="can never be satisfied"):
        quorum_to_decide(2, 3)


def test_with_every_standby_answering_the_most_advanced_is_promoted_losslessly():
    decision = choose_promotion([up("r1", 100), up("r2", 250)], synchronous=1)

    assert decision == Promote(
        "r2",
        250,
        lossless=True,
        reason="2 of 2 standbys answered (ANY 1 needs 2 to decide): r2 has the highest "
        "flushed LSN and so every acknowledged commit",
    )


def test_any_one_of_two_with_one_standby_lost_refuses_when_durability_is_strict():
    decision = choose_promotion([up("r1", 100), down("r2")], synchronous=1, durability="strict")

    assert isinstance(decision, Refuse)
    assert "ANY 1 needs 2" in decision.reason
    assert "waiting for more standbys" in decision.reason


def test_the_same_loss_promotes_anyway_when_availability_is_preferred_and_says_so():
    decision = choose_promotion([up("r1", 100), down("r2")], synchronous=1, durability="available")

    assert isinstance(decision, Promote)
    assert (decision.node, decision.lossless) == ("r1", False)
    assert "may be lost" in decision.reason


def test_any_two_of_two_needs_only_one_report():
    decision = choose_promotion([down("r1"), up("r2", 90)], synchronous=2)

    assert isinstance(decision, Promote)
    assert (decision.node, decision.lossless) == ("r2", True)


def test_asynchronous_replication_promotes_the_most_advanced_and_admits_loss():
    decision = choose_promotion([up("r1", 10), up("r2", 5), down("r3")], synchronous=0)

    assert isinstance(decision, Promote)
    assert (decision.node, decision.lossless) == ("r1", False)
    assert "asynchronous" in decision.reason


def test_nothing_to_promote():
    assert isinstance(choose_promotion([], synchronous=0), Refuse)
    assert isinstance(choose_promotion([down("r1"), down("r2")], synchronous=0), Refuse)


def test_ties_go_to_the_first_name_so_the_choice_is_repeatable():
    decision = choose_promotion([up("r10", 7), up("r2", 7), up("r1", 7)], synchronous=1)

    assert isinstance(decision, Promote)
    assert decision.node == "r1"


@given(
    data=st.data(),
    standbys=st.integers(min_value=1, max_value=6),
)
def test_a_lossless_promotion_always_holds_every_acknowledged_commit(data, standbys):
    synchronous = data.draw(st.integers(min_value=1, max_value=standbys), label="k")
    flushed = data.draw(
        st.lists(st.integers(0, 1_000), min_size=standbys, max_size=standbys), label="lsns"
    )
    reachable = data.draw(
        st.lists(st.booleans(), min_size=standbys, max_size=standbys), label="reachable"
    )
    # A commit is acknowledged once k standbys flushed it: the newest acknowledged
    # commit is the k-th highest flushed LSN.
    acknowledged = sorted(flushed, reverse=True)[synchronous - 1]
    reports = [
        StandbyReport(f"r{i}", reachable=ok, flushed_lsn=lsn if ok else None)
        for i, (lsn, ok) in enumerate(zip(flushed, reachable, strict=True))
    ]

    decision = choose_promotion(reports, synchronous=synchronous, durability="strict")

    if isinstance(decision, Promote):
        assert decision.lossless
        assert decision.lsn >= acknowledged
    else:
        assert sum(reachable) < quorum_to_decide(standbys, synchronous)
