"""Where a client is, from a MaxMind DB file written by the test: continent, country,
coordinates and the network's prefix; nothing for what the file does not hold."""

import ipaddress
from pathlib import Path

import pytest
from geodns_factories import geoip

from millionscale.errors import ConfigError
from millionscale.geodns import Location, MaxMindLocator, location_of
from millionscale.geodns.geoip import Place, write_database


def test_an_address_in_a_network_gets_its_place_and_prefix(tmp_path: Path) -> None:
    found = geoip(tmp_path).locate(ipaddress.ip_address("192.0.2.77"))

    assert found == Location("EU", "DE", 50.1, 8.7, 24)


def test_an_ipv6_address_is_located(tmp_path: Path) -> None:
    found = geoip(tmp_path).locate(ipaddress.ip_address("2001:db8:e0::5"))

    assert found is not None
    assert (found.country, found.prefix_len) == ("FR", 48)


def test_an_address_in_no_network_is_nowhere(tmp_path: Path) -> None:
    assert geoip(tmp_path).locate(ipaddress.ip_address("172.16.0.1")) is None


def test_ipv6_in_an_ipv4_only_database_is_nowhere(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-Country")
    writer.insert_network(IPSet(["192.0.2.0/24"]), {"continent": {"code": "EU"}})
    writer.to_db_file(str(tmp_path / "v4.mmdb"))
    locator = MaxMindLocator(tmp_path / "v4.mmdb")

    assert locator.locate(ipaddress.ip_address("2001:db8::1")) is None
    assert locator.locate(ipaddress.ip_address("192.0.2.1")) == Location("EU", None, None, None, 24)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        MaxMindLocator(tmp_path / "none.mmdb")


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "bad.mmdb").write_bytes(b"this is not a MaxMind DB")

    with pytest.raises(ConfigError, match="is not a MaxMind DB file"):
        MaxMindLocator(tmp_path / "bad.mmdb")


def test_a_bad_network_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        write_database(tmp_path / "x.mmdb", {"10.0.0.0/33": Place("EU")})
    assert not (tmp_path / "x.mmdb").exists()


@pytest.mark.parametrize(
    "record",
    [
        None,
        "a string",
        {},
        {"continent": "EU"},
        {"continent": {"code": 7}},
        {"country": {"iso_code": "DEU"}},
        {"location": {"latitude": "north", "longitude": 3}},
    ],
)
def test_a_record_of_another_layout_locates_nobody(record: object) -> None:
    assert location_of(record, 24) is None


def test_coordinates_out_of_range_are_dropped() -> None:
    record = {"continent": {"code": "EU"}, "location": {"latitude": 91, "longitude": 3}}

    assert location_of(record, 24) == Location("EU", None, None, None, 24)
