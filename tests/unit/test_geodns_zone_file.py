"""A zone file that cannot be used is one ZoneError naming the line and the key (or
the record), never a traceback; a good one compiles."""

from pathlib import Path

import pytest
from geodns_factories import ZONE, parse_zone, zone

from millionscale.errors import ZoneError
from millionscale.geodns import compile_zone, load_zone


def refused(text: str) -> str:
    with pytest.raises(ZoneError) as raised:
        compile_zone(parse_zone(text))
    return raised.value.one_line()


def test_the_shipped_zone_compiles() -> None:
    compiled = load_zone(Path(__file__).parents[2] / "topologies/geodns/photos.zone.toml")

    assert str(compiled.origin) == "photos.test."
    assert set(compiled.datacenters) == {"us-east", "eu-west"}


def test_names_are_relative_to_the_origin() -> None:
    compiled = zone()

    assert sorted(str(n) for n in compiled.names) == [
        "a.deep.photos.test.",
        "deep.photos.test.",
        "near.photos.test.",
        "ns1.photos.test.",
        "photos.test.",
        "static.photos.test.",
        "www.photos.test.",
    ]


def test_an_origin_without_the_final_dot_is_refused() -> None:
    message = refused(ZONE.replace('origin = "photos.test."', 'origin = "photos.test"'))

    assert "zone.toml:1" in message
    assert "ending with a dot" in message


def test_an_unknown_key_names_its_line() -> None:
    message = refused(ZONE.replace("serial = 7", "serail = 7"))

    assert "zone.toml:7" in message
    assert "serail" in message


def test_a_service_naming_an_unknown_data_center_is_refused() -> None:
    message = refused(ZONE.replace('EU = ["eu-west", "us-east"]', 'EU = ["eu-central"]'))

    assert "unknown data center 'eu-central'" in message


def test_distance_without_coordinates_is_refused() -> None:
    text = ZONE.replace("latitude = 53.3\nlongitude = -6.3\n", "")

    assert "needs latitude and longitude for eu-west" in refused(text)


def test_a_latitude_without_a_longitude_is_refused() -> None:
    assert "both latitude and longitude" in refused(ZONE.replace("longitude = -6.3\n", ""))


def test_a_bad_address_is_refused() -> None:
    assert "10.2.0.300" in refused(ZONE.replace('"10.2.0.10"', '"10.2.0.300"'))


def test_a_check_that_is_not_an_http_url_is_refused() -> None:
    text = ZONE.replace("longitude = -6.3\n", 'longitude = -6.3\ncheck = "ftp://x/readyz"\n')

    assert "is not an http:// or https:// URL" in refused(text)


def test_a_country_code_must_be_two_capital_letters() -> None:
    assert "'ca'" in refused(ZONE.replace('CA = ["us-east"]', 'ca = ["us-east"]'))


def test_a_record_whose_value_is_not_of_its_type_is_refused() -> None:
    text = ZONE + '[[records]]\nname = "x"\ntype = "A"\nvalue = "not-an-address"\n'

    assert refused(text).startswith("records[3].value: 'not-an-address' is not A")


def test_an_unknown_record_type_is_refused() -> None:
    text = ZONE + '[[records]]\nname = "x"\ntype = "BOGUS"\nvalue = "1"\n'

    assert "records[3].type: 'BOGUS' is not a record type" in refused(text)


@pytest.mark.parametrize("rdtype", ["SOA", "ANY", "NS"])
def test_types_the_zone_file_writes_elsewhere_are_refused(rdtype: str) -> None:
    text = ZONE + f'[[records]]\nname = "x"\ntype = "{rdtype}"\nvalue = "ns1"\n'

    assert refused(text).startswith("records[3].type:")


def test_a_record_outside_the_zone_is_refused() -> None:
    text = ZONE + '[[records]]\nname = "example.com."\ntype = "TXT"\nvalue = "x"\n'

    assert "outside the zone" in refused(text)


def test_a_cname_beside_other_records_is_refused() -> None:
    text = ZONE + '[[records]]\nname = "static"\ntype = "TXT"\nvalue = "x"\n'

    assert "CNAME cannot sit beside other records" in refused(text)


def test_a_service_name_with_plain_addresses_is_refused() -> None:
    text = ZONE + '[[records]]\nname = "www"\ntype = "A"\nvalue = "10.9.9.9"\n'

    assert "cannot also be plain records" in refused(text)


def test_a_missing_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match="does not exist"):
        load_zone(tmp_path / "nope.toml")


def test_a_file_that_is_not_toml_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "zone.toml"
    path.write_text("origin = \n")

    with pytest.raises(ZoneError, match="not valid TOML"):
        load_zone(path)
