"""The map policy: the country's list over the continent's over the default, the first
healthy data center of it; then the rest of the default; none healthy: as configured."""

from geodns_factories import zone

from millionscale.geodns import Location, choose

ZONE = zone()
WWW = next(s for s in ZONE.services.values() if s.policy == "map")
BOTH = frozenset({"us-east", "eu-west"})


def place(continent: str | None, country: str | None = None) -> Location:
    return Location(continent, country, None, None, 24)


def test_the_continents_list_sends_europe_to_eu_west() -> None:
    choice = choose(WWW, place("EU", "DE"), BOTH, ZONE.datacenters)

    assert choice.datacenter == "eu-west"
    assert choice.reason == "eu-west: first in the list for continent EU"
    assert choice.located


def test_the_countrys_list_wins_over_its_continents() -> None:
    choice = choose(WWW, place("EU", "CA"), BOTH, ZONE.datacenters)

    assert choice.datacenter == "us-east"
    assert choice.reason == "us-east: first in the list for country CA"


def test_a_place_without_a_list_gets_the_default() -> None:
    choice = choose(WWW, place("AS", "JP"), BOTH, ZONE.datacenters)

    assert choice.datacenter == "us-east"
    assert choice.reason == "us-east: first in the list for no list for its place"
    assert choice.located


def test_an_unknown_location_gets_the_default_and_is_not_located() -> None:
    choice = choose(WWW, None, BOTH, ZONE.datacenters)

    assert choice.datacenter == "us-east"
    assert not choice.located


def test_a_failed_data_center_is_skipped_for_the_next_in_the_list() -> None:
    choice = choose(WWW, place("EU"), frozenset({"us-east"}), ZONE.datacenters)

    assert choice.datacenter == "us-east"
    assert (
        choice.reason == "us-east: first healthy (1 before it failed) in the list for continent EU"
    )


def test_a_list_whose_every_member_failed_falls_back_to_the_default() -> None:
    choice = choose(WWW, place("NA", "CA"), frozenset({"eu-west"}), ZONE.datacenters)

    assert choice.datacenter == "eu-west"
    assert choice.reason == "eu-west: every data center in the list for country CA failed"


def test_when_every_data_center_failed_the_answer_is_as_configured() -> None:
    choice = choose(WWW, place("EU"), frozenset(), ZONE.datacenters)

    assert choice.datacenter == "eu-west"
    assert "every data center failed its checks" in choice.reason
