"""Deleting a photo purges its tag from every CDN edge; an edge that fails never fails the delete."""

from pathlib import Path

import pytest
from photos_cdn_support import discovery_file, signed_up
from purge_support import TOKEN, FakeEdge
from structlog.testing import capture_logs

from conftest import photo_app

pytestmark = pytest.mark.integration


def test_a_delete_purges_the_photos_tag_from_every_edge(database_url: str, tmp_path: Path):
    with FakeEdge("edge-1") as one, FakeEdge("edge-2") as two:
        source = discovery_file(tmp_path / "edges.json", one.member(), two.member())
        with photo_app(
            database_url, tmp_path, cdn_discovery=source, cdn_admin_token=TOKEN
        ) as photos:
            alice = signed_up(photos, "alice")
            photo = photos.post_photo(alice)

            response = alice.delete(f"/api/photos/{photo['id']}")

            assert response.status_code == 204
            for edge in (one, two):
                purge = edge.next_purge()
                assert (purge["tag"], purge["soft"]) == (f"photo-{photo['id']}", False)


def test_nothing_is_purged_for_a_delete_that_is_refused(database_url: str, tmp_path: Path):
    with FakeEdge("edge-1") as edge:
        source = discovery_file(tmp_path / "edges.json", edge.member())
        with photo_app(
            database_url, tmp_path, cdn_discovery=source, cdn_admin_token=TOKEN
        ) as photos:
            alice = photos.user("alice")
            bob = signed_up(photos, "bob")
            photo = photos.post_photo(alice)

            assert bob.delete(f"/api/photos/{photo['id']}").status_code == 403
        # the app has stopped: every purge it issued has been sent

        assert edge.purges.empty()


def test_an_edge_that_is_down_is_logged_and_the_delete_still_succeeds(
    database_url: str, tmp_path: Path
):
    down = FakeEdge("edge-1").start()
    down.stop()  # its admin port is closed now
    source = discovery_file(tmp_path / "edges.json", down.member())
    with (
        capture_logs() as logs,
        photo_app(database_url, tmp_path, cdn_discovery=source, cdn_admin_token=TOKEN) as photos,
    ):
        alice = signed_up(photos, "alice")
        photo = photos.post_photo(alice)

        response = alice.delete(f"/api/photos/{photo['id']}")

        assert response.status_code == 204
        assert alice.get(f"/api/photos/{photo['id']}").status_code == 404

    # the app's lifespan ended after its background purges did
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [entry["purge"] for entry in warnings] == [f"purge of tag photo-{photo['id']}"]
    assert "edge-1: connection refused (3 attempts)" in warnings[0]["event"]
