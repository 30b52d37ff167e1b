"""``millionscale dns query``: what a user at an address is answered, and why.

    millionscale dns query www.photos.test --from 192.0.2.7               ask the running
                                                                           topology's server
                                                                           (else 127.0.0.1:5353)
    millionscale dns query www.photos.test --from 192.0.2.7 --server H:P  ask another server
    millionscale dns query www.photos.test --from 192.0.2.7 \\
        --zone topologies/geodns/photos.zone.toml [--geoip FILE.mmdb]      no server: explain

Asking a server sends ``--from``'s subnet (its /24, /56 for IPv6) in an EDNS
Client Subnet option, so the server answers as it would that user's resolver.
With ``--zone`` nothing is asked: the answer is worked out from the zone file
and the GeoIP database, with where the database puts the address and why the
policy picked its data center (:func:`millionscale.geodns.client.explain`).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import resolved_topology
from millionscale.errors import ConfigError
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir

if TYPE_CHECKING:
    from millionscale.geodns.client import Asked
    from millionscale.geodns.locate import Address

dns_app = typer.Typer(help="GeoDNS: what a user at an address is answered.", no_args_is_help=True)

DEFAULT_SERVER = "127.0.0.1:5353"  # python -m millionscale.geodns's default port


def parse_server(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[V6]:PORT`` for IPv6) as a pair; ConfigError if it is not one."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise ConfigError(
            f"--server {text!r} is not HOST:PORT", hint="for instance --server 127.0.0.1:5353"
        )
    return host, number


def running_server(state_dir: Path) -> str | None:
    """``HOST:PORT`` of the GeoDNS process (tier ``dns``) the topology in ``state_dir``
    runs, if one runs there."""
    state = StateDir(state_dir)
    if state.supervisor_pid() is None:
        return None
    topology = resolved_topology(state)
    dns = next((p for p in topology.processes if p.tier == "dns"), None) if topology else None
    return f"{dns.host}:{dns.ports['main']}" if dns is not None else None


def parse_from(text: str) -> Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ConfigError(
            f"--from {text!r} is not an IP address", hint="for instance --from 192.0.2.7"
        ) from None


def _print(asked: Asked, name: str, source: Address) -> None:
    flags = "authoritative" if asked.authoritative else "not authoritative"
    how = {"none": "worked out from the zone file", "udp": "over UDP", "tcp": "over TCP"}
    note = ", truncated over UDP and asked again" if asked.truncated_over_udp else ""
    console.print(
        f"{name} from {source}: {asked.rcode}, {flags}, {how[asked.transport]}{note}"
        + (f" in {asked.elapsed_ms:.1f} ms" if asked.transport != "none" else ""),
        markup=False,
        highlight=False,
    )
    for line in asked.records or ("(no records)",):
        console.print(f"  {line}", markup=False, highlight=False)
    for line in asked.authority:
        console.print(f"  authority: {line}", markup=False, highlight=False)
    if asked.scope is not None and asked.transport != "none":
        console.print(f"  the answer holds for its /{asked.scope} (ECS scope)", markup=False)
    if asked.transport == "none":
        where = asked.location
        place = (
            "not in the GeoIP database"
            if where is None
            else ", ".join(
                part
                for part in (
                    f"continent {where.continent}" if where.continent else "",
                    f"country {where.country}" if where.country else "",
                    f"({where.latitude:.2f}, {where.longitude:.2f})"
                    if where.latitude is not None
                    else "",
                    f"network /{where.prefix_len}",
                )
                if part
            )
        )
        console.print(f"  {source}: {place}", markup=False, highlight=False)
        if asked.choice is not None:
            console.print(f"  sent to {asked.choice.reason}", markup=False, highlight=False)


@dns_app.command()
def query(
    name: Annotated[str, typer.Argument(help="The name to resolve, e.g. www.photos.test.")],
    source: Annotated[
        str, typer.Option("--from", help="The user's IP address: answer as for them.")
    ] = "127.0.0.1",
    rdtype: Annotated[str, typer.Option("--type", help="The record type.")] = "A",
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="The GeoDNS server to ask, HOST:PORT (default: the running topology's "
            f"GeoDNS process, else {DEFAULT_SERVER}).",
        ),
    ] = None,
    tcp: Annotated[bool, typer.Option("--tcp", help="Ask over TCP.")] = False,
    zone: Annotated[
        Path | None,
        typer.Option("--zone", help="Ask no server: work it out from this zone file."),
    ] = None,
    geoip: Annotated[
        Path | None,
        typer.Option("--geoip", help="With --zone: the MaxMind DB file, or networks (.toml)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """What a user at --from is answered for NAME: asked of a server, or explained."""
    from millionscale.geodns.client import ask_server, explain, query_for

    address = parse_from(source)
    if geoip is not None and zone is None:
        raise ConfigError("--geoip goes with --zone", hint="or ask a server with --server")
    message = query_for(name, rdtype, address)
    if zone is not None:
        asked = explain(zone, geoip, message, address)
    else:
        host, port = parse_server(server or running_server(state_dir) or DEFAULT_SERVER)
        asked = ask_server(host, port, message, tcp=tcp)
    if as_json:
        print(json.dumps({"name": name, "from": str(address), **asdict(asked)}, default=str))
        return
    _print(asked, name, address)
