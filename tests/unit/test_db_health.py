"""What one health check of a node says: the answer's meaning, and whom a node serves as."""

from hypothesis import given
from hypothesis import strategies as st

from millionscale.db.health import NodeHealth


def test_a_primary_answer_gives_its_position_and_timeline():
    health = NodeHealth.answered((False, "0/3000148", 3))

    assert health == NodeHealth(True, 0x3000148, "health check passed (primary)", False, 3)
    assert health.claims_primary
    assert health.serves(primary=True)
    assert not health.serves(primary=False)  # an old primary answering as one serves no read


def test_a_standby_answer_gives_its_replay_position_and_no_timeline():
    health = NodeHealth.answered((True, "0/2000000", None))

    assert health == NodeHealth(True, 0x2000000, "health check passed (in recovery)", True, 0)
    assert health.serves(primary=False)
    assert not health.serves(primary=True)  # a demoted primary takes no write


def test_a_failed_check_keeps_the_last_position_and_role_out_of_rotation():
    before = NodeHealth.answered((True, "0/2000000", None))

    after = before.failed("health check failed: connection refused")

    assert after == NodeHealth(False, 0x2000000, "health check failed: connection refused", True)
    assert not after.serves(primary=False)
    assert not after.claims_primary


def test_a_node_not_checked_yet_serves_as_nothing():
    health = NodeHealth.unknown("not checked yet")

    assert not health.serves(primary=True)
    assert not health.serves(primary=False)


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_a_replay_position_read_between_checks_only_moves_forward(known, read):
    health = NodeHealth(True, known, "health check passed (in recovery)", True)

    assert health.replayed(read).lsn == max(known, read)
