"""Seed data: deterministic for a seed, skewed like a social graph, and well-formed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.bench.dataset import (
    CELEBRITY_REACH,
    Dataset,
    default_celebrities,
    generate,
    username,
)
from millionscale.errors import ConfigError


def share_of_top(values: tuple[int, ...], fraction: float) -> float:
    """The share of the total held by the top ``fraction`` of values."""
    ranked = sorted(values, reverse=True)
    top = max(1, round(len(ranked) * fraction))
    return sum(ranked[:top]) / sum(ranked)


def test_seeded_usernames_are_numbered_with_five_digits():
    assert [username(i) for i in (0, 1, 99999, 100000)] == [
        "user00000",
        "user00001",
        "user99999",
        "user100000",
    ]
    with pytest.raises(ValueError, match="start at 0"):
        username(-1)


def test_users_are_the_seeded_usernames_in_order():
    data = generate(50, seed=1)

    assert data.users == tuple(username(i) for i in range(50))
    assert len(data.photos_per_user) == 50


def test_the_same_seed_gives_the_same_dataset():
    assert generate(300, seed=7) == generate(300, seed=7)


def test_another_seed_gives_another_dataset():
    assert generate(300, seed=7).follows != generate(300, seed=8).follows


def test_a_few_celebrities_by_default():
    assert [default_celebrities(n) for n in (1, 50, 100, 250, 1000, 1_000_000)] == [
        1,
        1,
        1,
        2,
        3,
        3,
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_celebrity_is_followed_by_at_least_a_tenth_of_the_users(seed):
    data = generate(1000, seed=seed)
    followers = sorted(data.follower_counts(), reverse=True)

    assert all(count >= CELEBRITY_REACH * 999 for count in followers[: default_celebrities(1000)])


def test_celebrities_reach_a_tenth_even_when_few_follow_anyone():
    data = generate(400, seed=3, celebrities=4, mean_following=0.0)
    followers = sorted(data.follower_counts(), reverse=True)

    assert followers[:4] == [40, 40, 40, 40]  # ceil(0.1 * 399): topped up, nobody else
    assert len(data.follows) == 160


def test_the_top_percent_of_users_hold_a_large_share_of_follows():
    data = generate(2000, seed=5)

    assert share_of_top(data.follower_counts(), 0.01) >= 0.20  # 20x an even share


def test_photos_are_skewed_too():
    data = generate(2000, seed=5)

    assert share_of_top(data.photos_per_user, 0.10) >= 0.40
    assert sum(1 for n in data.photos_per_user if n == 0) >= 2000 * 0.2


def assert_well_formed(data: Dataset) -> None:
    n = len(data.users)
    assert all(0 <= a < n and 0 <= b < n for a, b in data.follows)
    assert all(a != b for a, b in data.follows), "self-follow"
    assert len(set(data.follows)) == len(data.follows), "duplicate edge"
    assert list(data.follows) == sorted(data.follows)
    assert all(photos >= 0 for photos in data.photos_per_user)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32), celebrities=st.none() | st.integers(0, 5))
def test_any_dataset_is_well_formed_and_its_celebrities_reach_a_tenth(n, seed, celebrities):
    celebrities = None if celebrities is None else min(celebrities, n)

    data = generate(n, seed=seed, celebrities=celebrities)

    assert_well_formed(data)
    stars = default_celebrities(n) if celebrities is None else celebrities
    reach = sorted(data.follower_counts(), reverse=True)[:stars]
    assert all(count >= CELEBRITY_REACH * (n - 1) for count in reach)


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        pytest.param((0,), {}, "number of users", id="no-users"),
        pytest.param((10,), {"celebrities": 11}, "celebrities must be", id="too-many-stars"),
        pytest.param((10,), {"celebrities": -1}, "celebrities must be", id="negative-stars"),
        pytest.param((10,), {"mean_following": -2.0}, "mean_following", id="negative-mean"),
        pytest.param((10,), {"mean_photos": float("nan")}, "mean_photos", id="nan-photos"),
    ],
)
def test_bad_sizes_are_config_errors(args, kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        generate(*args, **kwargs)
