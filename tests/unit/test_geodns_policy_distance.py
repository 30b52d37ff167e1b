"""The distance policy: the nearest healthy data center by great-circle distance; the
map's lists where the client has no coordinates."""

import pytest
from geodns_factories import zone

from millionscale.geodns import Location, choose, distance_km

ZONE = zone()
NEAR = next(s for s in ZONE.services.values() if s.policy == "distance")
BOTH = frozenset({"us-east", "eu-west"})


def at(latitude: float, longitude: float) -> Location:
    return Location(None, None, latitude, longitude, 24)


def test_london_to_new_york_is_about_5570_km() -> None:
    assert distance_km(51.5074, -0.1278, 40.7128, -74.0060) == pytest.approx(5570, abs=10)


def test_the_distance_from_a_place_to_itself_is_zero() -> None:
    assert distance_km(10.0, 20.0, 10.0, 20.0) == 0.0


def test_a_client_in_paris_goes_to_dublin() -> None:
    choice = choose(NEAR, at(48.9, 2.4), BOTH, ZONE.datacenters)

    assert choice.datacenter == "eu-west"
    assert choice.reason == "eu-west: the nearest to (48.90, 2.40)"
    assert choice.located


def test_a_client_in_chicago_goes_to_washington() -> None:
    assert choose(NEAR, at(41.9, -87.6), BOTH, ZONE.datacenters).datacenter == "us-east"


def test_the_nearest_healthy_one_when_the_nearest_failed() -> None:
    choice = choose(NEAR, at(48.9, 2.4), frozenset({"us-east"}), ZONE.datacenters)

    assert choice.datacenter == "us-east"
    assert choice.reason == "us-east: the nearest healthy (1 nearer failed) to (48.90, 2.40)"


def test_without_coordinates_the_default_list_decides() -> None:
    choice = choose(NEAR, Location("EU", "FR", None, None, 16), BOTH, ZONE.datacenters)

    assert choice.datacenter == "us-east"


def test_none_healthy_answers_the_nearest() -> None:
    choice = choose(NEAR, at(48.9, 2.4), frozenset(), ZONE.datacenters)

    assert choice.datacenter == "eu-west"
