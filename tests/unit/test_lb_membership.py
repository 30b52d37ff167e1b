"""The balancer's membership from Discovery: a pure reconciler over frozen snapshots."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from millionscale.discovery import HEALTH, LEAVING, Member, Snapshot
from millionscale.lb.membership import Add, Drain, Plan, Present, Remove, reconcile


def member(name: str, health: str = "ready", *, tier: str = "web", port: int = 0) -> Member:
    return Member(name, tier, "10.0.1.2", {"main": port or 8000 + int(name[-1])}, health=health)  # type: ignore[arg-type]


def snapshot(*members: Member, version: int = 2) -> Snapshot:
    return Snapshot(version, members)


def present(name: str, *, draining: bool = False, outstanding: int = 0, port: int = 0) -> Present:
    return Present(name, f"10.0.1.2:{port or 8000 + int(name[-1])}", draining, outstanding)


def test_at_the_start_every_ready_member_of_the_tier_is_added_to_serve_at_once():
    view = snapshot(member("web-1"), member("web-2"), member("db-1", tier="db"))

    plan = reconcile([], view, "web", initial=True)

    assert plan.decisions == (
        Add(
            "web-1",
            "10.0.1.2",
            8001,
            True,
            "web-1 is ready in the web tier at 10.0.1.2:8001: added",
        ),
        Add(
            "web-2",
            "10.0.1.2",
            8002,
            True,
            "web-2 is ready in the web tier at 10.0.1.2:8002: added",
        ),
    )
    assert plan.followed == {"web-1": "10.0.1.2:8001", "web-2": "10.0.1.2:8002"}


def test_a_member_added_later_must_pass_its_checks_first():
    followed = {"web-1": "10.0.1.2:8001"}

    plan = reconcile(
        [present("web-1")], snapshot(member("web-1"), member("web-3")), "web", followed=followed
    )

    [add] = plan.decisions
    assert isinstance(add, Add)
    assert (add.name, add.address, add.initial) == ("web-3", "10.0.1.2:8003", False)


def test_a_member_not_yet_ready_is_added_only_once_it_is_ready():
    starting = reconcile([], snapshot(member("web-1", "starting")), "web")
    ready = reconcile([], snapshot(member("web-1", "ready"), version=3), "web")

    assert starting == Plan((), {})
    assert [d.name for d in ready.decisions if isinstance(d, Add)] == ["web-1"]


def test_a_backend_whose_member_turns_unready_stays_for_its_checks_to_judge():
    plan = reconcile(
        [present("web-1")],
        snapshot(member("web-1", "unready")),
        "web",
        followed={"web-1": "10.0.1.2:8001"},
    )

    assert plan.decisions == ()
    assert plan.followed == {"web-1": "10.0.1.2:8001"}


def test_a_member_gone_with_requests_in_flight_is_drained_then_removed_once_idle():
    followed = {"web-1": "10.0.1.2:8001", "web-2": "10.0.1.2:8002"}
    view = snapshot(member("web-1"))

    busy = reconcile(
        [present("web-1"), present("web-2", outstanding=3)], view, "web", followed=followed
    )
    draining = reconcile(
        [present("web-1"), present("web-2", draining=True, outstanding=1)],
        view,
        "web",
        followed=busy.followed,
        leaving=busy.leaving,
    )
    idle = reconcile(
        [present("web-1"), present("web-2", draining=True, outstanding=0)],
        view,
        "web",
        followed=draining.followed,
        leaving=draining.leaving,
    )

    assert busy.decisions == (Drain("web-2", "web-2 left the web tier: draining"),)
    assert busy.leaving == draining.leaving == {"web-2"}
    assert draining.decisions == ()
    assert idle.decisions == (
        Remove("web-2", "web-2 left the web tier: nothing in flight, removed"),
    )


def test_a_member_gone_with_nothing_in_flight_is_removed_at_once():
    plan = reconcile([present("web-2")], snapshot(), "web", followed={"web-2": "10.0.1.2:8002"})

    assert plan.decisions == (
        Remove("web-2", "web-2 left the web tier: nothing in flight, removed"),
    )
    assert plan.followed == {}


def test_a_stopping_member_is_drained_as_a_gone_one_is():
    plan = reconcile(
        [present("web-1", outstanding=2)],
        snapshot(member("web-1", "stopping")),
        "web",
        followed={"web-1": "10.0.1.2:8001"},
    )

    assert plan.decisions == (Drain("web-1", "web-1 is stopping: draining"),)


def test_a_member_moved_to_another_address_is_drained_and_added_back_there_once_gone():
    moved = snapshot(member("web-1", port=9001))
    followed = {"web-1": "10.0.1.2:8001"}

    first = reconcile([present("web-1", outstanding=1)], moved, "web", followed=followed)
    gone = reconcile([], moved, "web", followed=first.followed)

    assert first.decisions == (
        Drain("web-1", "web-1 moved from 10.0.1.2:8001 to 10.0.1.2:9001: draining"),
    )
    assert [(d.name, d.address) for d in gone.decisions if isinstance(d, Add)] == [
        ("web-1", "10.0.1.2:9001")
    ]


def test_a_followed_backend_the_operator_removed_stays_out_until_its_member_leaves_and_returns():
    followed = {"web-1": "10.0.1.2:8001"}

    still_there = reconcile([], snapshot(member("web-1")), "web", followed=followed)
    left = reconcile([], snapshot(member("web-1", "stopped")), "web", followed=still_there.followed)
    back = reconcile([], snapshot(member("web-1")), "web", followed=left.followed)

    assert still_there.decisions == ()
    assert left.decisions == ()
    assert [d.name for d in back.decisions] == ["web-1"]


def test_a_backend_the_operator_added_under_a_name_discovery_does_not_know_is_left_alone():
    plan = reconcile([present("ops-9")], snapshot(member("web-1")), "web")

    assert [d.name for d in plan.decisions] == ["web-1"]
    assert "ops-9" not in plan.followed


def test_a_member_without_the_balanced_port_is_not_a_backend():
    plan = reconcile([], snapshot(member("web-1")), "web", port="http")

    assert plan == Plan((), {})


names = st.sampled_from(["web-1", "web-2", "web-3", "web-4"])
members_st = st.dictionaries(names, st.sampled_from(HEALTH)).map(
    lambda healths: snapshot(*(member(n, h) for n, h in sorted(healths.items())))
)
backends_st = st.dictionaries(names, st.tuples(st.booleans(), st.integers(0, 3))).map(
    lambda found: [present(n, draining=d, outstanding=o) for n, (d, o) in sorted(found.items())]
)


@given(members_st, backends_st, st.booleans())
def test_applying_a_plan_and_reconciling_again_gives_nothing_more_to_do(view, backends, initial):
    """Idempotence: once its adds, removals and drains are done, nothing more to do."""
    plan = reconcile(
        backends, view, "web", followed={b.name: b.address for b in backends}, initial=initial
    )
    after = {b.name: b for b in backends}
    for decision in plan.decisions:
        if isinstance(decision, Add):
            after[decision.name] = Present(decision.name, decision.address)
        elif isinstance(decision, Remove):
            del after[decision.name]
    for name in plan.leaving:  # drained (now or before), then removed by the balancer
        del after[name]

    again = reconcile(
        list(after.values()), view, "web", followed=plan.followed, leaving=plan.leaving
    )

    assert again.decisions == ()
    staying = {m.name for m in view.members if m.health not in LEAVING}
    assert set(after) <= staying
    assert {m.name for m in view.members if m.ready} <= set(after)


def test_a_data_centers_balancer_takes_the_members_standing_there_only():
    east = Member("web-1", "web", "10.0.1.2", {"main": 8001}, datacenter="us-east")
    west = Member("web-2", "web", "10.0.1.3", {"main": 8002}, datacenter="eu-west")

    plan = reconcile([], snapshot(east, west), "web", initial=True, datacenter="us-east")

    assert [d.name for d in plan.decisions] == ["web-1"]
    assert plan.followed == {"web-1": "10.0.1.2:8001"}
    # Everything, without a data center, as before.
    assert len(reconcile([], snapshot(east, west), "web", initial=True).decisions) == 2
