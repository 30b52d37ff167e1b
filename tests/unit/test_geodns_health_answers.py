"""What the health checker says changes the next answer: a failed data center is not
answered while another is healthy, and comes back once it is healthy again."""

from pathlib import Path

from geodns_factories import addresses, ask, authority, ecs, query


def test_a_failed_data_center_is_not_answered(tmp_path: Path) -> None:
    server = authority(tmp_path)
    european = query("www.photos.test.", options=[ecs("192.0.2.0", 24)])

    server.set_healthy({"us-east"})
    _, answer = ask(server, european)

    assert addresses(answer) == ["10.1.0.10"]


def test_a_data_center_healthy_again_is_answered_again(tmp_path: Path) -> None:
    server = authority(tmp_path)
    european = query("www.photos.test.", options=[ecs("192.0.2.0", 24)])
    server.set_healthy({"us-east"})

    server.set_healthy({"us-east", "eu-west"})
    _, answer = ask(server, european)

    assert addresses(answer) == ["10.2.0.10"]


def test_unknown_names_in_the_healthy_set_are_ignored() -> None:
    server = authority()

    server.set_healthy({"us-east", "mars-1"})

    assert server.healthy == frozenset({"us-east"})


def test_statistics_count_answers_by_rcode_and_data_center() -> None:
    server = authority()
    ask(server, query("www.photos.test."))
    ask(server, query("nope.photos.test."))
    ask(server, query("example.com."))

    stats = server.statistics()

    assert stats.queries == 3
    assert dict(stats.rcodes) == {"NOERROR": 1, "NXDOMAIN": 1, "REFUSED": 1}
    assert dict(stats.datacenters) == {"us-east": 1}
