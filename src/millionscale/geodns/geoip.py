"""A small GeoIP database of one's own: networks and their places, as a MaxMind DB file.

Tests and the demo have no GeoLite2 (it needs a licence key and a download);
they write the networks their simulated users come from with
:func:`write_database`, in GeoIP2-City's layout (with the ``accuracy_radius`` MaxMind's files give every
location, which PowerDNS needs), so that
:class:`~millionscale.geodns.locate.MaxMindLocator` reads it exactly as it
reads MaxMind's own files. The writer is ``mmdb-writer``.

A topology lists its users' networks in TOML (:func:`load_networks`), and the
server writes them to a database when it starts::

    [networks."198.18.0.0/24"]        # users in the east of North America
    continent = "NA"
    country = "US"
    latitude = 40.7
    longitude = -74.0
"""

from __future__ import annotations

import ipaddress
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdb_writer import MmdbU16, MMDBWriter
from netaddr import IPSet
from pydantic import BaseModel, ConfigDict, Field, field_validator

from millionscale import tomlfile
from millionscale.errors import ConfigError
from millionscale.geodns.locate import MaxMindLocator

__all__ = ["ACCURACY_RADIUS_KM", "Place", "load_networks", "open_locator", "write_database"]

# GeoLite2-City gives every location an accuracy radius (km, a uint16); PowerDNS's
# GeoIP backend reads no latitude and longitude from a record without one.
ACCURACY_RADIUS_KM = 100


@dataclass(frozen=True, slots=True)
class Place:
    """Where a network is, in the fields GeoIP2-City records hold."""

    continent: str  # two letters: AF AN AS EU NA OC SA
    country: str | None = None  # ISO 3166-1 alpha-2
    latitude: float | None = None
    longitude: float | None = None

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"continent": {"code": self.continent}}
        if self.country is not None:
            record["country"] = {"iso_code": self.country}
        if self.latitude is not None and self.longitude is not None:
            record["location"] = {
                "latitude": self.latitude,
                "longitude": self.longitude,
                "accuracy_radius": MmdbU16(ACCURACY_RADIUS_KM),
            }
        return record


def write_database(path: Path, networks: Mapping[str, Place]) -> Path:
    """Write ``networks`` (CIDR → place; IPv4 and IPv6) to a MaxMind DB file at ``path``.

    The tree is IPv6 with IPv4 under ``::/96``, as GeoLite2's; a network written
    later wins where two overlap."""
    for cidr in networks:
        ipaddress.ip_network(cidr)  # ValueError naming the bad one, before writing
    writer = MMDBWriter(
        ip_version=6,
        database_type="GeoIP2-City",
        description="millionscale: simulated users' networks",
        ipv4_compatible=True,
    )
    for cidr, place in networks.items():
        writer.insert_network(IPSet([cidr]), place.record())
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path


class _PlaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    continent: str = Field(pattern=r"^(AF|AN|AS|EU|NA|OC|SA)$")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class _NetworksFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    networks: dict[str, _PlaceFile] = Field(min_length=1)

    @field_validator("networks")
    @classmethod
    def _cidrs(cls, networks: dict[str, _PlaceFile]) -> dict[str, _PlaceFile]:
        for cidr in networks:
            ipaddress.ip_network(cidr)  # ValueError: "... does not appear to be an IPv4 or..."
        return networks


def load_networks(path: Path) -> dict[str, Place]:
    """The networks listed in the TOML file at ``path`` (see the module's doc), checked;
    :class:`~millionscale.errors.ConfigError` naming the line and key if not."""
    text = tomlfile.read(path, what="networks", example="topologies/multi-dc/users.toml")
    spec = tomlfile.parse(text, _NetworksFile, source=str(path), error=ConfigError)
    return {
        cidr: Place(p.continent, p.country, p.latitude, p.longitude)
        for cidr, p in spec.networks.items()
    }


def open_locator(path: Path | None) -> MaxMindLocator | None:
    """The GeoIP database at ``path`` (None: none); a ``.toml`` listing of networks
    (:func:`load_networks`) is written to one first, read whole, and removed."""
    if path is None:
        return None
    if path.suffix != ".toml":
        return MaxMindLocator(path)
    networks = load_networks(path)
    with tempfile.TemporaryDirectory(prefix="geodns-") as scratch:
        return MaxMindLocator(write_database(Path(scratch) / "users.mmdb", networks), memory=True)
