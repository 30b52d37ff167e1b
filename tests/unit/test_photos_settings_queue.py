"""The queued mode from the environment: QUEUE_URL switches it on, for the web servers
(and the workers' own settings: the database, the media, the celebrity threshold)."""

from pathlib import Path

import pytest

from millionscale.errors import ConfigError
from millionscale.photos.app import Settings
from millionscale.photos.jobs import JobSettings, tasks
from millionscale.photos.timeline import CELEBRITY_FOLLOWERS
from millionscale.queue.__main__ import load_tasks

BASE = {"DATABASE_URL": "postgresql://app:pw@/photos", "SECRET_KEY": "k" * 32}


def test_without_queue_url_the_app_is_not_queued():
    settings = Settings.from_env(BASE)

    assert settings.queue_url is None
    assert settings.queue_name == "jobs"


def test_queue_url_and_name_are_read_and_the_url_is_not_in_the_repr():
    settings = Settings.from_env(
        {**BASE, "QUEUE_URL": " nats://s3cret@127.0.0.1:4222 ", "QUEUE_NAME": "photo_jobs"}
    )

    assert settings.queue_url == "nats://s3cret@127.0.0.1:4222"
    assert settings.queue_name == "photo_jobs"
    assert "s3cret" not in repr(settings)


def test_a_queue_url_of_another_scheme_is_refused_without_echoing_it():
    with pytest.raises(ConfigError, match="QUEUE_URL must start with nats://") as caught:
        Settings.from_env({**BASE, "QUEUE_URL": "redis://s3cret@host:6379"})

    assert "s3cret" not in caught.value.one_line()


def test_a_queue_name_that_is_not_a_subject_token_is_refused():
    with pytest.raises(ConfigError, match="QUEUE_NAME must be lowercase"):
        Settings.from_env({**BASE, "QUEUE_URL": "nats://h:4222", "QUEUE_NAME": "jobs.all"})


def test_the_workers_read_the_database_media_and_threshold():
    settings = JobSettings.from_env(
        {
            "DATABASE_URL": "postgresql://w@/p",
            "MEDIA_DIR": "/srv/media",
            "CELEBRITY_FOLLOWERS": "50",
        }
    )

    assert (settings.media_dir, settings.celebrity_followers) == (Path("/srv/media"), 50)
    assert settings.cache_url is None
    assert JobSettings.from_env({"DATABASE_URL": "x"}).celebrity_followers == CELEBRITY_FOLLOWERS


def test_the_workers_follow_the_primary_through_discovery_as_the_app_does():
    settings = JobSettings.from_env(
        {"DATABASE_URL": "postgresql://w@/p", "DATABASE_DISCOVERY": " unix:/run/ms.sock "}
    )

    assert (settings.database_discovery, settings.database_tier) == ("unix:/run/ms.sock", "db")
    assert JobSettings.from_env({"DATABASE_URL": "x"}).database_discovery is None
    tiered = JobSettings.from_env({"DATABASE_URL": "x", "DATABASE_TIER": "pg"})
    assert tiered.database_tier == "pg"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DATABASE_URL not set"),
        ({"DATABASE_URL": "x", "CELEBRITY_FOLLOWERS": "many"}, "bad value"),
        ({"DATABASE_URL": "x", "CELEBRITY_FOLLOWERS": "-1"}, "0 or more"),
    ],
)
def test_bad_worker_settings_are_a_config_error(env, message):
    with pytest.raises(ConfigError, match=message):
        JobSettings.from_env(env)


def test_the_task_set_loads_by_its_name_and_takes_no_argument(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://w@/p")

    loaded = load_tasks("millionscale.photos.jobs:tasks")

    assert hasattr(loaded, "__aenter__")
    with pytest.raises(ValueError, match="takes no argument"):
        tasks("anything")
    with pytest.raises(ConfigError, match="refused"):
        load_tasks("millionscale.photos.jobs:tasks=anything")
