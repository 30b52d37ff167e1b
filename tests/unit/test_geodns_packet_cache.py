"""The packet cache: a repeated query is answered from it with its own ID; the source
and transport are part of the key; a change of the healthy set empties it; it keeps
at most its number of entries."""

import ipaddress
from pathlib import Path

from geodns_factories import ZONE, addresses, ask, authority, ecs, query, zone

from millionscale.geodns import Authority


def test_a_repeated_query_is_a_hit_answered_with_its_own_id() -> None:
    server = authority()
    first, second = query("www.photos.test."), query("www.photos.test.")
    second.id = (first.id + 1) % 65536

    ask(server, first)
    _, answer = ask(server, second)

    assert server.statistics().cache_hits == 1
    assert answer.id == second.id
    assert addresses(answer) == ["10.1.0.10"]
    assert dict(server.statistics().rcodes) == {"NOERROR": 2}


def test_the_source_address_is_part_of_the_key(tmp_path: Path) -> None:
    server = authority(tmp_path)
    message = query("www.photos.test.")

    _, american = ask(server, message, source=ipaddress.ip_address("198.51.100.1"))
    _, european = ask(server, message, source=ipaddress.ip_address("192.0.2.1"))

    assert (addresses(american), addresses(european)) == (["10.1.0.10"], ["10.2.0.10"])
    assert server.statistics().cache_hits == 0


def test_a_change_of_the_healthy_set_empties_it(tmp_path: Path) -> None:
    server = authority(tmp_path)
    european = query("www.photos.test.", options=[ecs("192.0.2.0", 24)])
    ask(server, european)

    server.set_healthy({"us-east"})
    _, answer = ask(server, european)

    assert addresses(answer) == ["10.1.0.10"]
    assert server.statistics().cache_hits == 0


def test_the_same_healthy_set_again_keeps_it() -> None:
    server = authority()
    ask(server, query("www.photos.test."))

    server.set_healthy({"us-east", "eu-west"})
    ask(server, query("www.photos.test."))

    assert server.statistics().cache_hits == 1


def test_it_keeps_at_most_its_number_of_entries() -> None:
    server = Authority(zone(ZONE), cache_entries=2)
    names = ["www.photos.test.", "static.photos.test.", "photos.test."]
    for name in names:
        ask(server, query(name))

    ask(server, query(names[0]))  # the oldest, gone
    ask(server, query(names[2]))

    assert server.statistics().cache_hits == 1


def test_zero_entries_is_no_cache() -> None:
    server = Authority(zone(ZONE), cache_entries=0)

    ask(server, query("www.photos.test."))
    ask(server, query("www.photos.test."))

    assert server.statistics().cache_hits == 0
