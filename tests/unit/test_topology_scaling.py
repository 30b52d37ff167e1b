"""Scaling a replicated process while it runs: which set a name means, which replicas start
(the lowest free numbers) and which drain (the highest-numbered first); bad input refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import resolved
from hypothesis import given
from hypothesis import strategies as st

from millionscale.errors import ConfigError, MembershipError, UnknownProcessError
from millionscale.topology.model import MAX_REPLICAS, Topology
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.scaling import plan_scale, replica_set


def _nothing_taken(_index: int) -> bool:
    return False


def test_scaling_up_starts_the_next_numbers():
    plan = plan_scale("web", {1: "web-1", 2: "web-2"}, _nothing_taken, 4)

    assert (plan.start, plan.drain) == ((3, 4), ())
    assert plan.sentence() == "web: 2 -> 4 replicas: starting web-3, web-4"


def test_scaling_down_drains_the_highest_numbered_first():
    live = {1: "web-1", 2: "web-2", 3: "web-3", 4: "web-4"}

    plan = plan_scale("web", live, _nothing_taken, 2)

    assert (plan.start, plan.drain) == ((), ("web-4", "web-3"))
    assert plan.sentence() == "web: 4 -> 2 replicas: draining web-4, web-3"


def test_a_number_still_in_use_is_skipped_and_a_gap_is_filled():
    draining = {3, 4}  # web-3 and web-4 are still draining: their names and hosts are taken

    plan = plan_scale("web", {1: "web-1", 5: "web-5"}, draining.__contains__, 4)

    assert plan.start == (2, 6)


def test_the_same_count_changes_nothing():
    plan = plan_scale("web", {1: "web-1", 2: "web-2"}, _nothing_taken, 2)

    assert (plan.start, plan.drain) == ((), ())
    assert plan.sentence() == "web: 2 -> 2 replicas: nothing to do"


@pytest.mark.parametrize("replicas", [0, -1, MAX_REPLICAS + 1])
def test_a_count_out_of_bounds_is_refused(replicas: int):
    with pytest.raises(ConfigError, match=f"from 1 to {MAX_REPLICAS} replicas"):
        plan_scale("web", {1: "web-1"}, _nothing_taken, replicas)


def test_with_every_number_taken_the_plan_says_to_wait():
    with pytest.raises(MembershipError, match="no free number for 1 more replicas"):
        plan_scale("web", {1: "web-1"}, lambda index: index > 1, 2)


@given(
    st.sets(st.integers(1, MAX_REPLICAS), max_size=20),
    st.sets(st.integers(1, MAX_REPLICAS), max_size=20),
    st.integers(1, 30),
)
def test_a_plan_reaches_its_count_and_never_reuses_a_number_in_use(live_numbers, taken, replicas):
    live = {i: f"web-{i}" for i in live_numbers}
    taken -= live_numbers

    plan = plan_scale("web", live, taken.__contains__, replicas)

    after = (set(live) | set(plan.start)) - {int(n.rsplit("-", 1)[1]) for n in plan.drain}
    assert len(after) == replicas
    assert not set(plan.start) & (taken | set(live))
    assert not (plan.start and plan.drain)
    kept = set(live) - {int(n.rsplit("-", 1)[1]) for n in plan.drain}
    assert all(k < d for k in kept for d in set(live) - kept)  # the highest went


def _running(tmp_path: Path) -> tuple[Topology, ResolvedTopology]:
    parsed = Topology.model_validate(
        {
            "topology": {"name": "t"},
            "processes": {
                "db": {"tier": "data", "command": ["sh"]},
                "web": {"tier": "web", "command": ["sh"], "replicas": 2},
                "api": {"tier": "api", "command": ["sh"], "replicas": 1},
                "jobs": {"tier": "api", "command": ["sh"], "replicas": 1},
                "admin": {"tier": "web", "command": ["sh"]},
            },
        }
    )
    return parsed, resolved(parsed, tmp_path / "state")


def test_a_replicated_process_is_named_by_its_name_or_its_tier(tmp_path: Path):
    parsed, resolved = _running(tmp_path)

    assert replica_set("web", parsed, resolved.processes) == "web"
    assert replica_set("api", parsed, resolved.processes) == "api"  # its name before its tier


@pytest.mark.parametrize(
    ("target", "error", "message", "hint"),
    [
        ("nope", UnknownProcessError, "no process or tier named nope runs here", "replicated here"),
        ("db", MembershipError, "db is not replicated", "replicated here: api, jobs, web"),
        ("web-2", MembershipError, "web-2 is one replica of web", "scale the set: web=N"),
        ("admin", MembershipError, "admin is not replicated", "replicated here"),
    ],
)
def test_a_name_that_is_no_replicated_process_is_refused_saying_why(
    tmp_path: Path, target: str, error: type[Exception], message: str, hint: str
):
    parsed, resolved = _running(tmp_path)

    with pytest.raises(error) as caught:
        replica_set(target, parsed, resolved.processes)

    assert caught.value.message == message  # type: ignore[attr-defined]
    assert hint in caught.value.hint  # type: ignore[attr-defined]


def test_a_tier_of_several_replicated_processes_must_be_named_by_process(tmp_path: Path):
    parsed, resolved = _running(tmp_path)
    front = {n: parsed.processes[n].model_copy(update={"tier": "front"}) for n in ("web", "jobs")}
    parsed = parsed.model_copy(update={"processes": {**parsed.processes, **front}})

    with pytest.raises(MembershipError, match=r"tier front has several replicated processes"):
        replica_set("front", parsed, resolved.processes)


def test_a_tier_without_a_replicated_process_is_refused(tmp_path: Path):
    parsed, resolved = _running(tmp_path)

    with pytest.raises(MembershipError, match="tier data has no replicated process"):
        replica_set("data", parsed, resolved.processes)
