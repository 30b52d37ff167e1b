"""GeoDNS: an authoritative DNS server that sends each user to the nearest healthy data center.

``python -m millionscale.geodns --zone FILE [--geoip FILE.mmdb]`` serves one
zone over UDP and TCP; docs/geodns.md has the design, the guarantees, the
knobs and the measured figures. The layers, bottom up:

- **The zone** (:mod:`.zone`): the TOML zone file, checked, compiled into a
  :class:`Zone` of immutable rrsets, *services* (names answered by where the
  client is) and data centers.
- **Where a client is** (:mod:`.locate`): the :class:`Locator` interface and
  :class:`MaxMindLocator` on a MaxMind DB file.
- **Which data center** (:mod:`.policy`, pure): :func:`choose`, by country and
  continent lists or by distance, skipping failed data centers.
- **The answer** (:mod:`.authority`, sans-IO): :class:`Authority` turns a
  query's bytes and its source address into the reply's bytes, by the rules
  of an authoritative server (RFC 1034/1035, 2308, 6891, 7871, 5001).
"""

from millionscale.geodns.authority import OUR_PAYLOAD, Authority, AuthorityStatistics, Reply
from millionscale.geodns.locate import Location, Locator, MaxMindLocator, location_of
from millionscale.geodns.policy import Choice, choose, distance_km
from millionscale.geodns.zone import DataCenter, Service, Zone, ZoneFile, compile_zone, load_zone

__all__ = [
    "OUR_PAYLOAD",
    "Authority",
    "AuthorityStatistics",
    "Choice",
    "DataCenter",
    "Location",
    "Locator",
    "MaxMindLocator",
    "Reply",
    "Service",
    "Zone",
    "ZoneFile",
    "choose",
    "compile_zone",
    "distance_km",
    "load_zone",
    "location_of",
]
