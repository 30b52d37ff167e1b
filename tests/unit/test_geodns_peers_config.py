"""The peers' configurations say what our zone says: PowerDNS's GeoIP-backend zones file
and gdnsd's config and zone file, rendered from one compiled zone (pure, no servers)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from millionscale.errors import ConfigError
from millionscale.geodns import Zone, ZoneFile, compile_zone
from millionscale.geodns.peers import (
    gdnsd_config,
    gdnsd_zonefile,
    powerdns_settings,
    powerdns_zones,
)

GEOIP = Path("/data/places.mmdb")
ZONE = """\
origin = "photos.test."

[soa]
mname = "ns1"
rname = "hostmaster"
minimum = 30

[[ns]]
name = "ns1"
addresses = ["10.53.0.2"]

[datacenters.us-east]
addresses = ["10.1.0.10"]
latitude = 38.9
longitude = -77.0

[datacenters.eu-west]
addresses = ["10.2.0.10"]
latitude = 53.3
longitude = -6.3

[services.www]
ttl = 20
default = ["us-east", "eu-west"]
continents = { EU = ["eu-west", "us-east"] }
countries = { CA = ["eu-west"] }

[services.near]
policy = "distance"
default = ["us-east", "eu-west"]

[[records]]
name = "static"
type = "CNAME"
value = "www"

[[records]]
name = "@"
type = "TXT"
value = '"apex"'
"""


def zone(text: str = ZONE) -> Zone:
    return compile_zone(ZoneFile.model_validate(tomllib.loads(text)))


def powerdns_domain() -> dict[str, Any]:
    domain: dict[str, Any] = json.loads(powerdns_zones(zone()))["domains"][0]
    return domain


def test_powerdns_asks_for_the_country_then_the_continent_then_the_default() -> None:
    domain = powerdns_domain()

    assert domain["services"]["www.photos.test."] == [
        "%cc.country.www.photos.test.",
        "%cn.continent.www.photos.test.",
        "default.www.photos.test.",
    ]


def test_powerdns_answers_each_list_with_its_first_data_center_at_the_service_ttl() -> None:
    records = powerdns_domain()["records"]

    assert records["ca.country.www.photos.test."] == [{"a": {"content": "10.2.0.10", "ttl": 20}}]
    assert records["eu.continent.www.photos.test."] == [{"a": {"content": "10.2.0.10", "ttl": 20}}]
    assert records["default.www.photos.test."] == [{"a": {"content": "10.1.0.10", "ttl": 20}}]


def test_powerdns_sends_a_distance_service_to_the_closest_address_by_lua() -> None:
    records = powerdns_domain()["records"]

    assert records["near.photos.test."] == [
        {"lua": {"content": "A \"pickclosest({'10.1.0.10', '10.2.0.10'})\"", "ttl": 30}}
    ]


def test_powerdns_keeps_the_plain_records_and_their_ttls() -> None:
    records = powerdns_domain()["records"]

    assert {"soa": {"content": "ns1.photos.test. hostmaster.photos.test. 1 3600 600 604800 30",
                    "ttl": 3600}} in records["photos.test."]  # fmt: skip
    assert {"ns": {"content": "ns1.photos.test.", "ttl": 3600}} in records["photos.test."]
    assert {"txt": {"content": '"apex"', "ttl": 3600}} in records["photos.test."]
    assert records["static.photos.test."] == [
        {"cname": {"content": "www.photos.test.", "ttl": 3600}}
    ]
    assert records["ns1.photos.test."] == [{"a": {"content": "10.53.0.2", "ttl": 3600}}]


def test_powerdns_listens_on_loopback_and_polls_nobody() -> None:
    flags = powerdns_settings(Path("/w"), Path("/w/zones.yaml"), GEOIP, "127.0.0.1", 5300)

    assert "--local-address=127.0.0.1" in flags
    assert "--local-port=5300" in flags
    assert "--security-poll-suffix=" in flags
    assert f"--geoip-database-files=mmdb:{GEOIP}" in flags
    assert "--edns-subnet-processing=yes" in flags


def test_gdnsd_nests_a_country_in_its_continent() -> None:
    config = gdnsd_config(zone(), GEOIP, Path("/w"), "127.0.0.1", 5300,
                          country_continents={"CA": "NA"})  # fmt: skip

    assert 'EU => [ "eu-west", "us-east" ]' in config
    assert 'NA => { CA => [ "eu-west" ] }' in config
    assert 'default => [ "us-east", "eu-west" ]' in config


def test_gdnsd_refuses_a_country_whose_continent_it_is_not_told() -> None:
    with pytest.raises(ConfigError, match="continent of CA"):
        gdnsd_config(zone(), GEOIP, Path("/w"), "127.0.0.1", 5300)


def test_gdnsd_ranks_a_distance_service_by_the_zone_coordinates() -> None:
    config = gdnsd_config(zone(), GEOIP, Path("/w"), "127.0.0.1", 5300,
                          country_continents={"CA": "NA"})  # fmt: skip

    assert '"us-east" => [ 38.9, -77.0 ]' in config
    assert '"eu-west" => [ 53.3, -6.3 ]' in config
    assert f'geoip2_db => "{GEOIP}"' in config


def test_gdnsd_listens_only_where_told_and_keeps_its_state_in_the_work_directory() -> None:
    config = gdnsd_config(zone(), GEOIP, Path("/w"), "127.0.0.1", 5300,
                          country_continents={"CA": "NA"})  # fmt: skip

    assert 'listen => [ "127.0.0.1:5300" ]' in config
    assert 'run_dir => "/w/run"' in config
    assert 'state_dir => "/w/state"' in config


def test_gdnsd_zone_file_starts_with_the_soa_and_has_a_dyna_record_per_service() -> None:
    lines = gdnsd_zonefile(zone()).splitlines()

    assert lines[0] == "$ORIGIN photos.test."
    assert lines[1].split()[2] == "SOA"
    assert "www.photos.test. 20 DYNA geoip!www" in lines
    assert "near.photos.test. 30 DYNA geoip!near" in lines
    assert "static.photos.test. 3600 CNAME www.photos.test." in lines
