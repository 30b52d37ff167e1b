"""Where a client is: an address looked up in a MaxMind-format database.

:class:`Locator` is the interface :mod:`.authority` asks; :class:`MaxMindLocator`
reads any MaxMind DB file (GeoLite2-City or -Country, or one a test writes
itself) with ``maxminddb``. A record is read as GeoIP2's layout holds it:
``continent.code``, ``country.iso_code``, ``location.latitude`` and
``location.longitude``; what is missing or of the wrong type is ``None``, so a
database of another layout locates nobody rather than raising.

The :class:`Location` keeps the prefix length of the database's network that
held the address: an answer chosen from it holds for every address of that
network, which is the scope an ECS answer states (RFC 7871 §7.2.1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import maxminddb
import maxminddb.errors

from millionscale.errors import ConfigError

__all__ = ["Address", "Location", "Locator", "MaxMindLocator", "location_of"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Location:
    """A client's place, as far as the database knows it."""

    continent: str | None  # two letters: AF AN AS EU NA OC SA
    country: str | None  # ISO 3166-1 alpha-2
    latitude: float | None
    longitude: float | None
    prefix_len: int  # of the database's network that held the address (IPv4: 0..32)


class Locator(Protocol):
    """Where an address is. ``locate`` is called once per query: it must be fast,
    must not block on I/O (a memory-mapped or in-memory database), and must not
    raise for any address: ``None`` is "not in the database"."""

    def locate(self, address: Address) -> Location | None: ...


def _text(record: Mapping[str, Any], group: str, key: str) -> str | None:
    value = record.get(group)
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if isinstance(found, str) and len(found) == 2 else None


def _degrees(record: Mapping[str, Any], key: str, limit: float) -> float | None:
    value = record.get("location")
    found = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(found, bool) or not isinstance(found, int | float):
        return None
    return float(found) if -limit <= found <= limit else None


def location_of(record: object, prefix_len: int) -> Location | None:
    """The :class:`Location` a GeoIP2-layout ``record`` says; ``None`` if it says nothing."""
    if not isinstance(record, Mapping):
        return None
    latitude, longitude = _degrees(record, "latitude", 90), _degrees(record, "longitude", 180)
    if latitude is None or longitude is None:
        latitude = longitude = None
    location = Location(
        continent=_text(record, "continent", "code"),
        country=_text(record, "country", "iso_code"),
        latitude=latitude,
        longitude=longitude,
        prefix_len=prefix_len,
    )
    if location.continent is None and location.country is None and latitude is None:
        return None
    return location


class MaxMindLocator:
    """A :class:`Locator` on a MaxMind DB file, memory-mapped where the platform allows
    (``memory``: read whole, so that the file may be removed)."""

    def __init__(self, path: Path, *, memory: bool = False) -> None:
        mode = maxminddb.MODE_MEMORY if memory else maxminddb.MODE_AUTO  # memory: path may go
        try:
            self._reader = maxminddb.open_database(str(path), mode)
        except FileNotFoundError:
            raise ConfigError(
                f"GeoIP database {path} does not exist",
                hint="give the path of a MaxMind DB file (.mmdb), such as GeoLite2-City.mmdb",
            ) from None
        except (OSError, ValueError, maxminddb.errors.InvalidDatabaseError) as problem:
            raise ConfigError(
                f"{path} is not a MaxMind DB file: {problem}",
                hint="give a .mmdb file: GeoLite2-City, GeoLite2-Country or one of that layout",
            ) from None
        self._ipv6 = self._reader.metadata().ip_version == 6

    def locate(self, address: Address) -> Location | None:
        if address.version == 6 and not self._ipv6:
            return None  # an IPv4-only database: maxminddb would raise
        try:
            record, prefix_len = self._reader.get_with_prefix_len(address)
        except (ValueError, maxminddb.errors.InvalidDatabaseError):
            return None
        return location_of(record, prefix_len)  # maxminddb counts an IPv4 address's in 0..32

    def close(self) -> None:
        self._reader.close()
