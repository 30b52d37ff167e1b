"""The supervisor's live view: health from phases, versions that grow only on a change,
compare-and-set claims, and waiters woken from another thread."""

import asyncio
import threading

import pytest

from millionscale.discovery import Health, Member, RoleClaim
from millionscale.errors import StaleEpochError, SupervisorError
from millionscale.topology.lifecycle import Phase
from millionscale.topology.live import HEALTH_OF_PHASE, LiveView, health
from millionscale.topology.supervision import ProcessStatus


def _member(name: str, health: Health = "ready") -> Member:
    return Member(name=name, tier="web", host="127.0.0.1", ports={"main": 8000}, health=health)


def test_every_phase_has_a_health():
    assert set(HEALTH_OF_PHASE) == set(Phase)


@pytest.mark.parametrize(
    ("phase", "draining", "expected"),
    [
        (Phase.READY, False, "ready"),
        (Phase.READY, True, "stopping"),
        (Phase.STARTING, True, "stopping"),
        (Phase.BACKOFF, False, "unready"),
        (Phase.STOPPING, True, "stopping"),
        (Phase.FAILED, False, "failed"),
    ],
)
def test_a_draining_process_is_stopping_while_it_still_runs(phase, draining, expected):
    assert health(ProcessStatus("web-1", phase, 1, 0, "", draining)) == expected


def test_the_version_grows_by_one_on_a_change_and_not_on_the_same_members():
    view = LiveView(start=10)

    first = view.publish([_member("web-1")])
    again = view.publish([_member("web-1")])
    changed = view.publish([_member("web-1", "stopping")])

    assert (first.version, again.version, changed.version) == (11, 11, 12)


def test_versions_start_at_the_wall_clock_so_a_new_run_is_newer():
    assert LiveView().snapshot().version > 1_700_000_000_000


def test_a_claim_is_compare_and_set_on_the_epoch():
    view = LiveView(start=0)
    view.claim("db/primary", "db-1", 3)

    with pytest.raises(StaleEpochError) as stale:
        view.claim("db/primary", "db-2", 3)
    view.claim("db/primary", "db-1", 3)  # a retry changes nothing
    assert view.snapshot().version == 1
    view.claim("db/primary", "db-2", 4)

    assert (stale.value.holder, stale.value.epoch) == ("db-1", 3)
    assert view.snapshot().roles["db/primary"].holder == "db-2"
    assert view.snapshot().version == 2


def test_a_waiter_answers_at_once_for_an_older_version():
    view = LiveView(start=5)

    assert asyncio.run(view.wait(4, 10.0)).version == 5


def test_a_waiter_is_woken_by_a_change_made_in_another_thread():
    view = LiveView(start=5)

    async def scenario():
        timer = threading.Timer(0.05, view.publish, args=[[_member("web-1")]])
        timer.start()
        async with asyncio.timeout(5):
            return await view.wait(5, 30.0)

    assert asyncio.run(scenario()).version == 6


def test_a_waiter_gets_the_current_view_when_its_wait_runs_out():
    view = LiveView(start=5)

    assert asyncio.run(view.wait(5, 0.01)).version == 5


def test_claims_are_kept_in_the_roles_file_and_a_new_view_starts_with_them(tmp_path):
    roles = tmp_path / "roles.json"
    first = LiveView(start=1, roles_file=roles)
    assert first.snapshot().roles == {}
    first.claim("db/primary", "db", 1)
    first.claim("db/primary", "db-r1", 2)
    first.publish([_member("web-1")])  # members are what runs now: not kept

    again = LiveView(roles_file=roles)  # the next run of the supervisor

    assert again.snapshot().roles == {"db/primary": RoleClaim("db-r1", 2)}
    assert again.snapshot().members == ()
    with pytest.raises(StaleEpochError):  # the epoch rule holds across runs
        again.claim("db/primary", "db", 1)


def test_a_refused_claim_leaves_the_roles_file_as_it_was(tmp_path):
    roles = tmp_path / "roles.json"
    view = LiveView(start=1, roles_file=roles)
    view.claim("db/primary", "db-r1", 5)
    kept = roles.read_bytes()

    with pytest.raises(StaleEpochError):
        view.claim("db/primary", "db", 4)

    assert roles.read_bytes() == kept
    assert roles.stat().st_mode & 0o077 == 0  # owner-only


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"version": 0, "roles": {"db/primary": {"holder": "db"}}}', "[1]"],
    ids=["empty", "not-json", "claim-without-epoch", "not-an-object"],
)
def test_a_roles_file_that_cannot_be_read_is_refused_never_taken_as_no_claims(tmp_path, text):
    roles = tmp_path / "roles.json"
    roles.write_text(text)

    with pytest.raises(SupervisorError, match=r"roles\.json") as caught:
        LiveView(roles_file=roles)

    assert "down --purge" in (caught.value.hint or "")
