"""``millionscale dns query``'s arguments: what is not an address, a server or a name is
one line and exit 2, before anything is asked."""

import ipaddress
import sys

import pytest

from millionscale.cli import main
from millionscale.cli._dns import parse_from, parse_server
from millionscale.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "pair"),
    [("127.0.0.1:5353", ("127.0.0.1", 5353)), ("[::1]:53", ("::1", 53)), ("::1:53", ("::1", 53))],
)
def test_a_server_is_host_and_port(text: str, pair: tuple[str, int]) -> None:
    assert parse_server(text) == pair


@pytest.mark.parametrize(
    "text", ["foo", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":53", "host:53"]
)
def test_what_is_not_a_server_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        parse_server(text)


def test_from_is_an_address() -> None:
    assert parse_from("2001:db8::1") == ipaddress.ip_address("2001:db8::1")
    with pytest.raises(ConfigError, match="is not an IP address"):
        parse_from("192.0.2")


@pytest.mark.parametrize(
    "args",
    [
        ["dns", "query", "www.photos.test", "--from", "nope"],
        ["dns", "query", "bad..name", "--server", "127.0.0.1:1"],
        ["dns", "query", "www.photos.test", "--type", "BOGUS"],
        ["dns", "query", "www.photos.test", "--server", "nowhere"],
        ["dns", "query", "www.photos.test", "--geoip", "x.mmdb"],
        ["dns", "query", "www.photos.test", "--zone", "/nonexistent/zone.toml"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(monkeypatch, capsys, args: list[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["millionscale", *args])

    with pytest.raises(SystemExit) as exited:
        main()

    out, err = capsys.readouterr()
    assert exited.value.code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ")
