"""Seeding: the generated dataset lands whole, once, and seeded users can log in."""

import psycopg
import pytest

from conftest import PhotoApp
from millionscale.bench.dataset import DEFAULT_PASSWORD, generate, username
from millionscale.photos.seed import seed

pytestmark = pytest.mark.integration


def test_the_dataset_lands_whole_and_seeded_users_can_log_in(photos: PhotoApp):
    dataset = generate(300, seed=7)

    result = seed(photos.database_url, photos.media_dir, dataset, seed_value=7)

    assert (result.users, result.follows, result.photos) == (
        300,
        len(dataset.follows),
        sum(dataset.photos_per_user),
    )
    assert photos.rows("users") == 300
    assert photos.rows("follows") == len(dataset.follows)
    client = photos.client()
    login = client.post("/api/login", json={"username": username(0), "password": DEFAULT_PASSWORD})
    assert login.status_code == 200
    assert client.get("/api/timeline").status_code == 200


def test_celebrities_are_followed_by_at_least_a_tenth_of_users(photos: PhotoApp):
    seed(photos.database_url, photos.media_dir, generate(200, seed=1))

    with psycopg.connect(photos.database_url) as conn:
        top = conn.execute(
            "SELECT count(*) FROM follows GROUP BY followee_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()

    assert top is not None
    assert top[0] >= 0.1 * 199


def test_seeding_twice_leaves_the_first_seed_alone(photos: PhotoApp):
    dataset = generate(50, seed=3)
    seed(photos.database_url, photos.media_dir, dataset)

    again = seed(photos.database_url, photos.media_dir, dataset)

    assert again.skipped
    assert photos.rows("users") == 50


def test_reset_replaces_what_was_there(photos: PhotoApp):
    seed(photos.database_url, photos.media_dir, generate(50, seed=3))
    photos.user("someone_else")

    result = seed(photos.database_url, photos.media_dir, generate(40, seed=4), reset=True)

    assert not result.skipped
    assert photos.rows("users") == 40
