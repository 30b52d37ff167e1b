"""The photo app's web tier knobs from the environment: REDIS_URL, DRAIN_SECONDS, SHUTDOWN_GRACE_SECONDS."""

import pytest

from millionscale.errors import ConfigError
from millionscale.photos.app import Settings
from millionscale.web import DRAIN_S, GRACE_S

BASE = {"DATABASE_URL": "postgresql://db/photos", "SECRET_KEY": "k" * 32}


def test_without_the_knobs_sessions_stay_in_postgresql_and_the_drain_is_the_default():
    settings = Settings.from_env(BASE)

    assert settings.redis_url is None
    assert (settings.drain_s, settings.grace_s) == (0.0, GRACE_S) == (0.0, 3)  # no balancer
    assert DRAIN_S == 5.0  # what a topology with a balancer sets (load-balanced.toml: 6)


def test_the_knobs_are_read():
    settings = Settings.from_env(
        {
            **BASE,
            "REDIS_URL": "redis://:pw@cache:6379/0",
            "DRAIN_SECONDS": "12.5",
            "SHUTDOWN_GRACE_SECONDS": "20",
        }
    )

    assert settings.redis_url == "redis://:pw@cache:6379/0"
    assert (settings.drain_s, settings.grace_s) == (12.5, 20)


def test_an_empty_redis_url_means_none():
    assert Settings.from_env({**BASE, "REDIS_URL": "  "}).redis_url is None


@pytest.mark.parametrize("url", ["http://cache:6379", "cache:6379", "postgresql://x@db"])
def test_a_redis_url_of_another_scheme_is_a_config_error_without_its_secret(url):
    with pytest.raises(ConfigError, match="REDIS_URL must start with redis://") as caught:
        Settings.from_env({**BASE, "REDIS_URL": url.replace("cache", "user:s3cret@cache")})

    assert "s3cret" not in caught.value.one_line()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DRAIN_SECONDS", "-1"),
        ("DRAIN_SECONDS", "nan"),
        ("DRAIN_SECONDS", "inf"),
        ("DRAIN_SECONDS", "five"),
        ("SHUTDOWN_GRACE_SECONDS", "-3"),
        ("SHUTDOWN_GRACE_SECONDS", "2.5"),
    ],
)
def test_a_bad_duration_is_a_config_error(name, value):
    with pytest.raises(ConfigError, match=f"bad value in the environment: {name} must be"):
        Settings.from_env({**BASE, name: value})


def test_a_zero_drain_is_allowed():
    assert Settings.from_env({**BASE, "DRAIN_SECONDS": "0"}).drain_s == 0.0
