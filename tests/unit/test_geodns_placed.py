"""Where a topology puts its data centers, told on the server's command line: the zone
file's addresses and checks set over, and the users' networks listed in TOML and
written to a GeoIP database; what is wrong is one error naming it."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from geodns_factories import ZONE

from millionscale.errors import ConfigError, ZoneError
from millionscale.geodns import MaxMindLocator
from millionscale.geodns.geoip import Place, load_networks, write_database
from millionscale.geodns.zone import load_zone


def zone_file(tmp_path: Path) -> Path:
    path = tmp_path / "zone.toml"
    path.write_text(ZONE)
    return path


def test_addresses_and_checks_are_set_over_the_files(tmp_path: Path):
    placed: dict[str, dict[str, object]] = {
        "us-east": {"addresses": ["10.9.0.2"], "check": "http://10.9.0.3:8080/readyz"},
        "eu-west": {"check": "http://10.9.0.4:8080/readyz"},
    }

    zone = load_zone(zone_file(tmp_path), placed)

    east, west = zone.datacenters["us-east"], zone.datacenters["eu-west"]
    assert east.addresses == (ipaddress.ip_address("10.9.0.2"),)
    assert east.check == "http://10.9.0.3:8080/readyz"
    assert west.addresses == (ipaddress.ip_address("10.2.0.10"),)  # the file's, kept
    assert (west.latitude, west.longitude) == (53.3, -6.3)


@pytest.mark.parametrize(
    ("placed", "message"),
    [
        ({"mars": {"addresses": ["10.0.0.1"]}}, "has no data center 'mars' to place"),
        ({"us-east": {"addresses": ["10.0.0.300"]}}, "data center us-east: Value error"),
        ({"us-east": {"check": "ftp://x/"}}, "is not an http:// or https:// URL"),
        ({"us-east": {"addresses": []}}, "data center us-east: Value should have at least 1 item"),
    ],
)
def test_what_cannot_be_placed_is_one_zone_error(tmp_path: Path, placed, message: str):
    with pytest.raises(ZoneError, match=message):
        load_zone(zone_file(tmp_path), placed)


def test_users_networks_listed_in_toml_are_located_as_a_maxmind_file_says(tmp_path: Path):
    listing = tmp_path / "users.toml"
    listing.write_text(
        '[networks."198.18.0.0/24"]\ncontinent = "NA"\ncountry = "US"\n'
        "latitude = 40.7\nlongitude = -74.0\n\n"
        '[networks."198.18.1.0/24"]\ncontinent = "EU"\n'
    )

    networks = load_networks(listing)

    assert networks == {
        "198.18.0.0/24": Place("NA", "US", 40.7, -74.0),
        "198.18.1.0/24": Place("EU"),
    }
    locator = MaxMindLocator(write_database(tmp_path / "users.mmdb", networks), memory=True)
    (tmp_path / "users.mmdb").unlink()  # read whole: the file may go
    found = locator.locate(ipaddress.ip_address("198.18.1.7"))
    assert found is not None
    assert (found.continent, found.prefix_len) == ("EU", 24)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[networks."198.18.0.0/24"]\ncontinent = "XX"\n',
            r"networks\.198\.18\.0\.0/24\.continent: String should match",
        ),
        ('[networks."198.18.0.300/24"]\ncontinent = "EU"\n', "does not appear to be an IPv4"),
        ('[networks."198.18.0.0/24"]\ncontinent = "EU"\ncity = "Paris"\n', "city: unknown key"),
        ("networks = {}\n", "users.toml"),
        ("[networks\n", "not valid TOML"),
    ],
)
def test_a_bad_listing_is_one_error_naming_where(tmp_path: Path, text: str, message: str):
    listing = tmp_path / "users.toml"
    listing.write_text(text)

    with pytest.raises(ConfigError, match=message):
        load_networks(listing)
