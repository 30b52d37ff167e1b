"""Which data center a client is sent to: pure, from its location and the healthy set.

Two policies, as a :class:`~millionscale.geodns.zone.Service` names them:

- **map** (gdnsd's ``geoip`` maps, PowerDNS's GeoIP backend, Route 53's
  geolocation routing): the client's country's list if the service has one,
  else its continent's, else ``default``; the first healthy data center of
  that list.
- **distance** (Route 53's geoproximity, without bias): the healthy data
  centers of ``default`` ranked by great-circle distance from the client's
  coordinates; where the database gives none, the map's lists decide.

When every data center of the chosen list has failed its checks, the rest of
``default`` is tried in its order, then any other healthy data center. When
none at all is healthy the answer is the list's first, as configured: a
server that answered nothing would take every data center down with its
checker (Route 53 does the same: "if all records are unhealthy, Route 53
considers all of them healthy"). Every :class:`Choice` carries one sentence
saying why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from millionscale.geodns.locate import Location
from millionscale.geodns.zone import DataCenter, Service

__all__ = ["Choice", "choose", "distance_km"]

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


@dataclass(frozen=True, slots=True)
class Choice:
    """The data center a client is sent to, and why."""

    datacenter: str
    reason: str
    located: bool  # whether the client's location decided it (an ECS answer's scope)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the haversine formula, on a sphere of the mean radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _mapped(service: Service, location: Location | None) -> tuple[tuple[str, ...], str, bool]:
    """The fallback list the map gives ``location``, what picked it, and whether it was
    the location (not the default)."""
    if location is not None:
        if location.country is not None and location.country in service.countries:
            return service.countries[location.country], f"country {location.country}", True
        if location.continent is not None and location.continent in service.continents:
            return service.continents[location.continent], f"continent {location.continent}", True
    if location is None:
        return service.default, "an unknown location", False
    return service.default, "no list for its place", True


def _ranked(
    service: Service, latitude: float, longitude: float, datacenters: Mapping[str, DataCenter]
) -> tuple[str, ...]:
    """``service``'s default data centers, nearest first (ties by name)."""

    def far(name: str) -> float:
        dc = datacenters[name]
        if dc.latitude is None or dc.longitude is None:  # the zone refuses this for distance
            return math.inf
        return distance_km(latitude, longitude, dc.latitude, dc.longitude)

    return tuple(sorted(service.default, key=lambda name: (far(name), name)))


def _first_healthy(names: Iterable[str], healthy: frozenset[str]) -> str | None:
    return next((name for name in names if name in healthy), None)


def choose(
    service: Service,
    location: Location | None,
    healthy: frozenset[str],
    datacenters: Mapping[str, DataCenter],
) -> Choice:
    """The data center ``service`` sends a client at ``location`` to, given ``healthy``."""
    if (
        service.policy == "distance"
        and location is not None
        and location.latitude is not None
        and location.longitude is not None
    ):
        ranked = _ranked(service, location.latitude, location.longitude, datacenters)
        picked = _first_healthy(ranked, healthy)
        if picked is not None:
            skipped = ranked.index(picked)
            why = (
                "the nearest" if skipped == 0 else f"the nearest healthy ({skipped} nearer failed)"
            )
            return Choice(picked, f"{picked}: {why} to {lat_lon(location)}", True)
        fallbacks, source, located = ranked, f"distance from {lat_lon(location)}", True
    else:
        fallbacks, source, located = _mapped(service, location)
        picked = _first_healthy(fallbacks, healthy)
        if picked is not None:
            skipped = fallbacks.index(picked)
            why = "first" if skipped == 0 else f"first healthy ({skipped} before it failed)"
            return Choice(picked, f"{picked}: {why} in the list for {source}", located)
    rest = [*service.default, *sorted(datacenters)]
    picked = _first_healthy(rest, healthy)
    if picked is not None:
        return Choice(
            picked, f"{picked}: every data center in the list for {source} failed", located
        )
    return Choice(
        fallbacks[0],
        f"{fallbacks[0]}: every data center failed its checks, so answering as configured",
        located,
    )


def lat_lon(location: Location) -> str:
    return f"({location.latitude:.2f}, {location.longitude:.2f})"
