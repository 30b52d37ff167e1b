"""The failover monitor's state machine, on a fake clock: no sockets, no servers."""

from __future__ import annotations

import pytest

from millionscale.db.failover import (
    ClusterRecord,
    ClusterSpec,
    EnsureSlots,
    FailoverCore,
    Fence,
    Follow,
    NodeReport,
    PromoteNode,
    Publish,
    ShutDown,
    State,
    SwitchoverRefused,
)
from millionscale.testing import FakeClock

MEMBERS = {"db": "127.0.0.1:5000", "r1": "127.0.0.1:5001", "r2": "127.0.0.1:5002"}
SLOTS = frozenset({"db", "r1", "r2"})


def primary(name: str = "db", lsn: int = 1000) -> NodeReport:
    return NodeReport(name, reachable=True, in_recovery=False, flushed_lsn=lsn, slots=SLOTS)


def standby(name: str, lsn: int = 1000, upstream: str = "db", streaming: bool = True) -> NodeReport:
    return NodeReport(
        name,
        reachable=True,
        in_recovery=True,
        flushed_lsn=lsn,
        upstream=MEMBERS[upstream],
        streaming=streaming,
    )


def down(name: str) -> NodeReport:
    return NodeReport(name, reachable=False, error="connection refused")


def reports(*items: NodeReport) -> dict[str, NodeReport]:
    return {r.name: r for r in items}


def core(synchronous: int = 1, durability: str = "strict") -> tuple[FailoverCore, FakeClock]:
    clock = FakeClock(start=100.0)
    spec = ClusterSpec(MEMBERS, synchronous, durability)  # type: ignore[arg-type]
    return FailoverCore(spec, ClusterRecord(1, "db"), clock), clock


def fail_over(c: FailoverCore, clock: FakeClock, round_: dict[str, NodeReport]) -> list[object]:
    """Primary down past the timeout, fenced, then the standbys' reports."""
    c.observe(round_)
    clock.jump(3.0)
    assert c.observe(round_) == [Fence("db", "db failed every check for 3.0 s")]
    c.fenced("db")
    return list(c.observe(round_))


def test_a_healthy_cluster_needs_nothing():
    c, _ = core()

    actions = c.observe(reports(primary(), standby("r1"), standby("r2")))

    assert actions == []
    assert c.state is State.HEALTHY


def test_missing_slots_are_created_on_the_primary():
    c, _ = core()
    bare = NodeReport("db", reachable=True, in_recovery=False, flushed_lsn=1, slots=frozenset())

    actions = c.observe(reports(bare, standby("r1"), standby("r2")))

    assert actions == [EnsureSlots("db", ("r1", "r2"))]


def test_a_standby_streaming_from_elsewhere_is_repointed():
    c, _ = core()

    actions = c.observe(reports(primary(), standby("r1", upstream="r2"), standby("r2")))

    assert actions == [Follow("r1", "db")]


def test_a_second_primary_is_fenced_at_once():
    c, _ = core()

    actions = c.observe(reports(primary(), primary("r1"), standby("r2")))

    assert actions == [Fence("r1", "r1 answers as a primary, but db is (epoch 1)")]
    assert c.journal[-1] == "fencing r1: r1 answers as a primary, but db is (epoch 1)"


def test_a_short_outage_is_waited_out():
    c, clock = core()
    c.observe(reports(down("db"), standby("r1"), standby("r2")))
    clock.jump(2.9)

    assert c.observe(reports(down("db"), standby("r1"), standby("r2"))) == []
    assert str(c.state) == "suspect"
    clock.jump(0.05)
    assert c.observe(reports(primary(), standby("r1"), standby("r2"))) == []
    assert c.state is State.HEALTHY
    assert c.journal[-1] == "db answers again after 3.0 s"


def test_a_lost_primary_is_fenced_then_the_most_advanced_standby_promoted():
    c, clock = core()

    actions = fail_over(c, clock, reports(down("db"), standby("r1", 900), standby("r2", 950)))

    record = ClusterRecord(2, "r2", State.PROMOTING, actions[0].record.reason)  # type: ignore[attr-defined]
    assert actions == [Publish(record), PromoteNode("r2", record.reason)]
    assert "r2 has the highest flushed LSN" in record.reason
    assert c.state is State.PROMOTING


def test_the_promotion_is_published_when_done():
    c, clock = core()
    fail_over(c, clock, reports(down("db"), standby("r1"), standby("r2", 1200)))

    (publish,) = c.promoted("r2")

    assert publish == Publish(ClusterRecord(2, "r2", State.HEALTHY, "r2 is the primary of epoch 2"))
    assert c.state is State.HEALTHY


def test_after_failover_the_old_primary_must_follow_the_new_one():
    c, clock = core()
    fail_over(c, clock, reports(down("db"), standby("r1", 1200), standby("r2")))
    c.promoted("r1")

    actions = c.observe(
        reports(primary("r1"), standby("db", upstream="db"), standby("r2", upstream="db"))
    )

    assert actions == [Follow("db", "r1"), Follow("r2", "r1")]


def test_strict_durability_refuses_without_a_quorum_and_says_so_once():
    c, clock = core(synchronous=1)
    round_ = reports(down("db"), standby("r1"), down("r2"))

    actions = fail_over(c, clock, round_)

    assert actions == [Publish(c.record)]
    assert c.record.state is State.ELECTING
    assert "durability is strict" in c.record.reason
    assert c.observe(round_) == []


def test_the_old_primary_coming_back_ends_a_refused_election():
    c, clock = core(synchronous=1)
    fail_over(c, clock, reports(down("db"), standby("r1"), down("r2")))

    actions = c.observe(reports(primary(), standby("r1"), down("r2")))

    assert c.state is State.HEALTHY
    assert actions == [Publish(ClusterRecord(1, "db", State.HEALTHY, c.record.reason))]
    assert c.record.reason == "db answers as the primary again; no promotion"


def test_available_durability_promotes_what_it_can_reach_and_says_what_may_be_lost():
    c, clock = core(synchronous=1, durability="available")

    actions = fail_over(c, clock, reports(down("db"), standby("r1"), down("r2")))

    assert isinstance(actions[1], PromoteNode)
    assert actions[1].node == "r1"
    assert "may be lost" in actions[1].reason


def test_asynchronous_replication_promotes_the_most_advanced_and_says_it_is_lossy():
    c, clock = core(synchronous=0)

    actions = fail_over(c, clock, reports(down("db"), standby("r1", 5), standby("r2", 4)))

    assert isinstance(actions[1], PromoteNode)
    assert actions[1].node == "r1"
    assert "lost" in actions[1].reason


def test_a_failed_promotion_elects_another_standby():
    c, clock = core(synchronous=1, durability="available")
    round_ = reports(down("db"), standby("r1", 10), standby("r2", 9))
    fail_over(c, clock, round_)

    c.promotion_failed("r1", "connection lost")
    actions = c.observe(round_)

    assert c.journal[-2] == "promoting r1 failed (connection lost); electing another"
    assert isinstance(actions[1], PromoteNode)
    assert actions[1].node == "r2"
    assert c.record.epoch == 3


def test_forced_failover_fences_a_healthy_primary():
    c, _ = core()
    c.force_failover("asked by an operator")

    actions = c.observe(reports(primary(), standby("r1"), standby("r2")))

    assert actions == [Fence("db", "failover forced: asked by an operator")]


def test_switchover_prefers_the_asked_node_when_it_holds_as_much():
    c, _ = core()
    round_ = reports(primary(), standby("r1", 1000), standby("r2", 1000))
    target = c.check_switchover("r2", round_)

    assert c.begin_switchover(target, "caught up") == [
        ShutDown("db", "switchover to r2: caught up")
    ]
    c.stopped("db")
    actions = c.observe(reports(down("db"), standby("r1", 1000), standby("r2", 1000)))

    assert isinstance(actions[1], PromoteNode)
    assert actions[1].node == "r2"


def test_switchover_promotes_the_safe_node_when_the_asked_one_is_behind():
    c, _ = core()
    c.begin_switchover("r2", "caught up")
    c.stopped("db")

    actions = c.observe(reports(down("db"), standby("r1", 1001), standby("r2", 1000)))

    assert isinstance(actions[1], PromoteNode)
    assert actions[1].node == "r1"


def test_a_switchover_shuts_the_old_primary_down_cleanly_and_kills_nothing():
    c, _ = core()
    round_ = reports(primary(), standby("r1"), standby("r2"))

    actions = c.begin_switchover("r1", "r1 replayed 0/3E8 in 5 ms")
    waiting = c.observe(round_)  # the shutdown is under way: no other decision meanwhile
    c.stopped("db")
    election = c.observe(reports(down("db"), standby("r1"), standby("r2")))

    assert actions == [ShutDown("db", "switchover to r1: r1 replayed 0/3E8 in 5 ms")]
    assert waiting == []
    assert not any(isinstance(action, Fence) for action in election)
    assert [a.node for a in election if isinstance(a, PromoteNode)] == ["r1"]
    assert c.journal[:2] == [
        "switchover to r1: r1 replayed 0/3E8 in 5 ms; shutting db down cleanly",
        "db shut down cleanly; asking the standbys how much WAL they hold",
    ]


def test_a_clean_shutdown_that_does_not_finish_falls_back_to_fencing():
    c, _ = core()
    c.begin_switchover("r1", "caught up")

    actions = c.stop_failed("db", "still running after 5 s")
    c.fenced("db")
    election = c.observe(reports(down("db"), standby("r1"), standby("r2")))

    assert actions == [
        Fence(
            "db", "switchover to r1: caught up; the clean shutdown failed: still running after 5 s"
        )
    ]
    assert c.journal[1] == "shutting db down failed (still running after 5 s); fencing it"
    assert [a.node for a in election if isinstance(a, PromoteNode)] == ["r1"]


def test_no_switchover_or_failover_starts_while_a_switchover_stops_the_primary():
    c, _ = core()
    c.begin_switchover("r1", "caught up")
    round_ = reports(primary(), standby("r1"), standby("r2"))

    with pytest.raises(SwitchoverRefused, match="stopping, not healthy"):
        c.check_switchover("r2", round_)
    with pytest.raises(SwitchoverRefused, match="already under way \\(stopping\\)"):
        c.force_failover("asked by an operator")


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("nope", "'nope' is not a node of this cluster (nodes: db, r1, r2)"),
        ("db", "db is already the primary"),
        ("r2", "r2 is not a streaming standby now"),
    ],
)
def test_switchover_to_a_bad_target_is_refused(to: str, message: str):
    c, _ = core()
    round_ = reports(primary(), standby("r1"), standby("r2", streaming=False))

    with pytest.raises(SwitchoverRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        c.check_switchover(to, round_)


def test_switchover_is_refused_while_a_failover_runs():
    c, _ = core()
    c.observe(reports(down("db"), standby("r1"), standby("r2")))

    with pytest.raises(SwitchoverRefused, match="suspect, not healthy"):
        c.begin_switchover("r1", "now")


def test_an_illegal_transition_raises():
    c, _ = core()

    with pytest.raises(
        AssertionError, match="failover: no transition promotion succeeded from healthy"
    ):
        c.promoted("r1")


def test_the_record_round_trips_and_garbage_is_refused():
    record = ClusterRecord(3, "r1", State.PROMOTING, "why")

    assert ClusterRecord.from_json(record.to_json()) == record
    with pytest.raises(ValueError, match="integer 'epoch'"):
        ClusterRecord.from_json({"epoch": "x", "primary": "db"})
