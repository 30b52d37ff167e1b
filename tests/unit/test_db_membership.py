"""The router's nodes from Discovery: a pure reconciler over frozen snapshots."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from millionscale.db.membership import (
    PRIMARY_ROLE,
    AddNode,
    Plan,
    Present,
    RemoveNode,
    first_primary,
    nodes_of,
    reconcile,
)
from millionscale.discovery import HEALTH, LEAVING, Member, RoleClaim, Snapshot


def member(
    name: str,
    role: str = "replica",
    health: str = "ready",
    *,
    tier: str = "db",
    host: str = "10.0.0.5",
    port: int = 5432,
) -> Member:
    return Member(name, tier, host, {"main": port}, role=role, health=health)  # type: ignore[arg-type]


def snapshot(*members: Member, roles: dict[str, RoleClaim] | None = None) -> Snapshot:
    return Snapshot(2, members, roles or {})


def present(name: str, address: str = "10.0.0.5:5432") -> Present:
    return Present(name, address)


# -- which members are nodes ---------------------------------------------------------


def test_at_the_start_every_primary_and_replica_of_the_tier_is_added():
    view = snapshot(
        member("db", "primary", port=5432),
        member("db-r1", port=5433),
        member("db-monitor", "monitor", port=8100),  # in the tier, not a PostgreSQL node
        member("web-1", "app", tier="web", port=8000),
    )

    plan = reconcile([], view, "db", primary=None)

    assert plan == Plan(
        (
            AddNode(
                "db",
                "10.0.0.5",
                5432,
                "db (primary) is in the db tier at 10.0.0.5:5432: added, "
                "out of rotation until a check passes",
            ),
            AddNode(
                "db-r1",
                "10.0.0.5",
                5433,
                "db-r1 (replica) is in the db tier at 10.0.0.5:5433: added, "
                "out of rotation until a check passes",
            ),
        )
    )


def test_a_member_starting_or_unready_is_a_node_its_checks_will_judge():
    view = snapshot(member("db-r1", health="starting"), member("db-r2", health="unready"))

    assert list(nodes_of(view, "db")) == ["db-r1", "db-r2"]


def test_a_leaving_member_or_one_without_the_port_is_no_node():
    leaving = [member(f"db-r{i}", health=health) for i, health in enumerate(sorted(LEAVING))]
    portless = Member("db-r9", "db", "10.0.0.5", {"admin": 8008}, role="replica")

    assert nodes_of(snapshot(*leaving, portless), "db") == {}


# -- removal ---------------------------------------------------------------------------


def test_a_replica_gone_from_the_tier_is_removed():
    plan = reconcile(
        [present("db"), present("db-r1")], snapshot(member("db", "primary")), "db", primary="db"
    )

    assert plan.decisions == (RemoveNode("db-r1", "db-r1 left the db tier: removed"),)
    assert plan.held == {}


def test_a_stopping_replica_is_removed_as_a_gone_one_is():
    view = snapshot(member("db", "primary"), member("db-r1", health="stopping"))

    plan = reconcile([present("db"), present("db-r1")], view, "db", primary="db")

    assert plan.decisions == (RemoveNode("db-r1", "db-r1 is stopping: removed"),)


def test_a_node_whose_member_takes_another_role_is_removed():
    view = snapshot(member("db", "primary"), member("db-r1", "monitor"))

    plan = reconcile([present("db"), present("db-r1")], view, "db", primary="db")

    assert plan.decisions == (
        RemoveNode("db-r1", "db-r1 is no longer a primary or a replica (role 'monitor'): removed"),
    )


def test_the_primary_gone_from_discovery_is_held_until_another_node_is_the_primary():
    view = snapshot(member("db-r1"))
    nodes = [present("db"), present("db-r1")]

    while_primary = reconcile(nodes, view, "db", primary="db")
    after_failover = reconcile(nodes, view, "db", primary="db-r1")

    assert while_primary.decisions == ()
    assert while_primary.held == {
        "db": "db left the db tier, but the router takes it for the primary: "
        "kept until another node answers as the primary"
    }
    assert after_failover == Plan((RemoveNode("db", "db left the db tier: removed"),))


# -- replacement and addition --------------------------------------------------------------


def test_a_member_moved_to_another_address_is_replaced_under_its_name():
    view = snapshot(member("db", "primary"), member("db-r1", host="10.0.0.9", port=6000))

    plan = reconcile([present("db"), present("db-r1")], view, "db", primary="db")

    moved = "db-r1 moved from 10.0.0.5:5432 to 10.0.0.9:6000"
    assert plan.decisions == (
        RemoveNode("db-r1", f"{moved}: removed at 10.0.0.5:5432"),
        AddNode(
            "db-r1",
            "10.0.0.9",
            6000,
            f"{moved}: added at 10.0.0.9:6000, out of rotation until a check passes",
        ),
    )


def test_a_moved_primary_is_replaced_too():
    plan = reconcile(
        [present("db")], snapshot(member("db", "primary", port=7000)), "db", primary="db"
    )

    assert [type(d) for d in plan.decisions] == [RemoveNode, AddNode]
    assert plan.held == {}


def test_a_member_added_at_run_time_is_added():
    view = snapshot(member("db", "primary"), member("db-r3", port=5435))

    plan = reconcile([present("db")], view, "db", primary="db")

    [add] = plan.decisions
    assert isinstance(add, AddNode)
    assert (add.name, add.address) == ("db-r3", "10.0.0.5:5435")


def test_nodes_that_match_their_members_get_no_decision():
    view = snapshot(member("db", "primary"), member("db-r1", health="unready"))

    assert reconcile([present("db"), present("db-r1")], view, "db", primary="db") == Plan()


# -- where the router starts looking for the primary ----------------------------------------


def test_the_first_primary_is_the_claim_holder_then_the_configured_one_then_the_first():
    members = (member("a"), member("b", "primary"), member("c"))
    claimed = snapshot(*members, roles={PRIMARY_ROLE: RoleClaim("c", 4)})
    stale_claim = snapshot(*members, roles={PRIMARY_ROLE: RoleClaim("gone", 9)})
    no_primary = snapshot(member("a"), member("c"))

    assert first_primary(claimed, ["a", "b", "c"]) == "c"
    assert first_primary(stale_claim, ["a", "b", "c"]) == "b"
    assert first_primary(no_primary, ["a", "c"]) == "a"
    assert first_primary(snapshot(), []) is None


# -- properties ----------------------------------------------------------------------------

NAMES = ["db", "db-r1", "db-r2", "db-r3"]
members_st = st.lists(
    st.builds(
        member,
        st.sampled_from(NAMES),
        st.sampled_from(["primary", "replica", "monitor"]),
        st.sampled_from(HEALTH),
        tier=st.sampled_from(["db", "db", "web"]),
        host=st.sampled_from(["10.0.0.5", "10.0.0.6"]),
        port=st.sampled_from([5432, 5433]),
    ),
    unique_by=lambda m: m.name,
    max_size=4,
)
present_st = st.dictionaries(
    st.sampled_from(NAMES),
    st.sampled_from(["10.0.0.5:5432", "10.0.0.5:5433", "10.0.0.6:5432"]),
    max_size=4,
)


def applied(nodes: dict[str, str], plan: Plan) -> dict[str, str]:
    after = dict(nodes)
    for decision in plan.decisions:
        if isinstance(decision, RemoveNode):
            del after[decision.name]
        else:
            assert decision.name not in after  # a name is free before it is added
            after[decision.name] = decision.address
    return after


@given(members_st, present_st, st.sampled_from([None, *NAMES]))
def test_a_plan_brings_the_nodes_to_the_members_and_leaves_nothing_to_do(members, nodes, primary):
    view = snapshot(*members)
    primary = primary if primary in nodes else None

    plan = reconcile([Present(n, a) for n, a in nodes.items()], view, "db", primary=primary)
    after = applied(nodes, plan)
    again = reconcile([Present(n, a) for n, a in after.items()], view, "db", primary=primary)

    wanted = {name: m.address() for name, m in nodes_of(view, "db").items()}
    assert after == wanted | {name: nodes[name] for name in plan.held}
    assert again.decisions == ()
    assert again.held == plan.held


@given(members_st, present_st, st.sampled_from(NAMES))
def test_the_primary_is_never_left_without_a_node(members, nodes, primary):
    nodes = {primary: "10.0.0.5:5432", **nodes}

    plan = reconcile(
        [Present(n, a) for n, a in nodes.items()], snapshot(*members), "db", primary=primary
    )

    assert primary in applied(nodes, plan)
    assert set(plan.held) <= {primary}


def test_a_node_added_carries_the_data_center_its_member_stands_in():
    far = Member("db-r1", "db", "10.0.0.7", {"main": 5432}, role="replica", datacenter="eu-west")

    plan = reconcile([], snapshot(member("db", "primary"), far), "db", primary=None)

    assert [(d.name, d.datacenter) for d in plan.decisions if isinstance(d, AddNode)] == [
        ("db", "local"),
        ("db-r1", "eu-west"),
    ]
