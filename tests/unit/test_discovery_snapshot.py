"""Discovery's snapshot: a frozen record, its JSON form, and clear errors for bad input."""

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.discovery import Member, RoleClaim, Snapshot, StaticDiscovery
from millionscale.errors import DiscoveryError, StaleEpochError

WEB_1 = Member("web-1", "web", "10.0.0.2", {"main": 8000, "admin": 8001}, role="app")


def test_a_snapshot_survives_its_json_form():
    snapshot = Snapshot(3, (WEB_1,), {"db/primary": RoleClaim("db-r1", 4)})

    assert Snapshot.loads(snapshot.dumps()) == snapshot


def test_members_are_found_by_name_tier_and_role():
    db = Member("db-r1", "db", "127.0.0.1", {"main": 5432}, role="replica")
    snapshot = Snapshot(1, (WEB_1, db), {"db/primary": RoleClaim("db-r1", 2)})

    assert snapshot.member("web-1") == WEB_1
    assert snapshot.tier("web") == (WEB_1,)
    assert snapshot.holder("db/primary") == db
    assert snapshot.holder("cache/primary") is None
    assert WEB_1.address("admin") == "10.0.0.2:8001"
    with pytest.raises(DiscoveryError, match="web-1 has no port named 'metrics'"):
        WEB_1.address("metrics")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{", "not JSON"),
        ("[]", "(top level): Input should be"),
        ('{"version": -1}', "version: Input should be greater than or equal to 0"),
        ('{"version": 1, "extra": 2}', "extra: Unexpected keyword argument"),
        (
            '{"version": 1, "members": [{"name": "a", "tier": "w", "host": "h", '
            '"ports": {"main": 70000}}]}',
            "members.0.ports.main: Input should be less than or equal to 65535",
        ),
        (
            '{"version": 1, "members": [{"name": "a", "tier": "w", "host": "h", "ports": {}}, '
            '{"name": "a", "tier": "w", "host": "h", "ports": {}}]}',
            "member 'a' is listed more than once",
        ),
    ],
)
def test_bad_input_is_one_clear_error(text, needle):
    with pytest.raises(DiscoveryError) as raised:
        Snapshot.loads(text, source="test")

    assert needle in raised.value.one_line()
    assert raised.value.one_line().startswith("test: ")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_any_json_is_a_snapshot_or_a_discovery_error(data):
    try:
        snapshot = Snapshot.loads(json.dumps(data))
    except DiscoveryError:
        return
    assert Snapshot.loads(snapshot.dumps()) == snapshot


def test_role_claims_are_compare_and_set_on_the_epoch():
    registry = StaticDiscovery.of([WEB_1])

    first = asyncio.run(registry.claim("db/primary", "db", 1))
    again = asyncio.run(registry.claim("db/primary", "db", 1))  # a retry is harmless
    newer = asyncio.run(registry.claim("db/primary", "db-r1", 2))
    with pytest.raises(StaleEpochError, match="held by db-r1 at epoch 2") as stale:
        asyncio.run(registry.claim("db/primary", "db", 2))

    assert first == again == RoleClaim("db", 1)
    assert newer == RoleClaim("db-r1", 2)
    assert (stale.value.holder, stale.value.epoch) == ("db-r1", 2)
    assert asyncio.run(registry.snapshot()).roles == {"db/primary": RoleClaim("db-r1", 2)}


def test_backends_given_as_arguments_become_members_and_bad_ones_are_refused():
    static = StaticDiscovery.from_backends("web", ["web-1=10.0.0.2:8000"])

    assert asyncio.run(static.snapshot()).tier("web")[0].address() == "10.0.0.2:8000"
    with pytest.raises(DiscoveryError, match="'web-1' is not NAME=HOST:PORT"):
        StaticDiscovery.from_backends("web", ["web-1"])


def test_a_watched_file_yields_each_change_with_growing_versions(tmp_path, monkeypatch):
    monkeypatch.setattr("millionscale.discovery._static.FILE_POLL_S", 0.01)
    path = tmp_path / "discovery.json"
    path.write_text(Snapshot(5, (WEB_1,)).dumps())
    static = StaticDiscovery.from_file(path)

    async def scenario() -> list[Snapshot]:
        seen = []
        async for snapshot in static.watch():
            seen.append(snapshot)
            if len(seen) == 1:
                path.write_text("not json")  # skipped: the last good view stays
                await asyncio.sleep(0.05)
                path.write_text(Snapshot(1, ()).dumps())  # its version went back
            else:
                return seen
        return seen

    seen = asyncio.run(asyncio.wait_for(scenario(), 5))

    assert [s.members for s in seen] == [(WEB_1,), ()]
    assert seen[1].version > seen[0].version
