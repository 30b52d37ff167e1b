"""The photo app's database nodes from the environment: a fixed list, or a discovery source."""

import pytest

from millionscale.errors import ConfigError, DiscoveryError
from millionscale.photos.app import Settings, create_app

BASE = {"DATABASE_URL": "postgresql://app:pw@/photos", "SECRET_KEY": "k" * 32}


def test_without_a_source_the_nodes_are_the_fixed_list():
    settings = Settings.from_env({**BASE, "DATABASE_REPLICA_URLS": "r1=postgresql://app@r1/p"})

    assert settings.database_discovery is None
    assert settings.replica_urls == {"r1": "postgresql://app@r1/p"}


def test_a_discovery_source_and_its_tier_are_read():
    settings = Settings.from_env(
        {**BASE, "DATABASE_DISCOVERY": " unix:/run/ms/control.sock ", "DATABASE_TIER": "pg"}
    )

    assert settings.database_discovery == "unix:/run/ms/control.sock"
    assert settings.database_tier == "pg"


def test_the_tier_is_db_unless_said_and_an_empty_source_is_none():
    settings = Settings.from_env({**BASE, "DATABASE_DISCOVERY": "  ", "DATABASE_TIER": ""})

    assert settings.database_discovery is None
    assert settings.database_tier == "db"


def test_a_source_beside_a_fixed_replica_list_is_a_config_error():
    with pytest.raises(ConfigError, match="DATABASE_DISCOVERY and DATABASE_REPLICA_URLS both"):
        Settings.from_env(
            {
                **BASE,
                "DATABASE_DISCOVERY": "file:nodes.json",
                "DATABASE_REPLICA_URLS": "r1=postgresql://app@r1/p",
            }
        )


def test_a_source_that_cannot_be_opened_stops_the_app_before_it_serves(tmp_path):
    settings = Settings(
        database_url=BASE["DATABASE_URL"],
        secret_key=BASE["SECRET_KEY"],
        media_dir=tmp_path / "media",
        database_discovery="consul:db",
    )

    with pytest.raises(DiscoveryError, match="unknown discovery scheme 'consul'"):
        create_app(settings)
