"""CDN edges: an RFC 9111 shared cache in front of any HTTP origin, in tiers, with purges.

``python -m millionscale.cdn --origin http://HOST:PORT --port P --admin-port A``
runs one edge (as one runs varnishd in front of a backend); docs/cdn.md has the
design, the guarantees, the knobs and the measured figures. The layers, bottom up:

- **The rules** (pure, no I/O; the caller passes ``now``): :mod:`.message` (the
  records: requests, origin responses, stored responses), :mod:`.cachecontrol`
  (``Cache-Control`` and ``CDN-Cache-Control`` directives), :mod:`.httpdate`,
  :mod:`.freshness` (lifetime, heuristics, age: RFC 9111 §4.2), :mod:`.vary`,
  :mod:`.storable` (:func:`to_store`: what a shared cache may store, §3),
  :mod:`.lookup` (:func:`lookup`: what a request gets, §4, RFC 5861),
  :mod:`.validation` (§4.3), :mod:`.stale` (stale-if-error), :mod:`.invalidation`
  (§4.4), :mod:`.ranges` (RFC 9110 §14), :mod:`.construct` (the fields sent);
  their knobs are :class:`RulesSettings`.
- **The store** (:mod:`.store`, :class:`Store`): bounded in bytes by the cache
  tier's eviction policy, spilling to disk, indexed by tag and prefix for soft
  and hard purges.
- **The edge** (:mod:`.edge`, :class:`Edge`): the asyncio shell on the
  balancer's connection code, with :mod:`.origin` (the origin client), request
  coalescing, stale-while-revalidate and stale-if-error; :mod:`.settings`
  (:class:`EdgeSettings`), :mod:`.metrics`, :mod:`.admin` (the admin API).
- **Purges across tiers**: :mod:`.feed` (each edge's purge log, which the edges
  below follow) and :mod:`.purge` (:class:`Purger`: what an application or the
  command line uses to purge the tier).
- **Offload** (:mod:`.offload`): the tier's share of bytes the origin did not
  send, from two readings of every member's statistics.
"""

from millionscale.cdn.cachecontrol import Directives, parse_directives
from millionscale.cdn.construct import response_fields
from millionscale.cdn.edge import Edge, EdgeStatistics
from millionscale.cdn.feed import PurgeFeed, PurgeLog
from millionscale.cdn.invalidation import invalidated_by
from millionscale.cdn.lookup import Fresh, GatewayTimeout, Lookup, Miss, Revalidate, Stale, lookup
from millionscale.cdn.message import Fields, Request, Response, Stored, cache_key
from millionscale.cdn.offload import (
    EdgeOffload,
    Offload,
    StatisticsReading,
    offload,
    read_statistics,
)
from millionscale.cdn.origin import Fetched, Origin, OriginFailure
from millionscale.cdn.purge import Purge, Purger, PurgeResult
from millionscale.cdn.ranges import RangeNotSatisfiable, parse_range, range_applies
from millionscale.cdn.rules import RulesSettings
from millionscale.cdn.settings import EdgeSettings
from millionscale.cdn.stale import usable_on_error
from millionscale.cdn.storable import NotStored, to_store
from millionscale.cdn.store import Store, StoreStatistics
from millionscale.cdn.validation import after_revalidation, client_not_modified, conditional_fields

__all__ = [
    "Directives",
    "Edge",
    "EdgeOffload",
    "EdgeSettings",
    "EdgeStatistics",
    "Fetched",
    "Fields",
    "Fresh",
    "GatewayTimeout",
    "Lookup",
    "Miss",
    "NotStored",
    "Offload",
    "Origin",
    "OriginFailure",
    "Purge",
    "PurgeFeed",
    "PurgeLog",
    "PurgeResult",
    "Purger",
    "RangeNotSatisfiable",
    "Request",
    "Response",
    "Revalidate",
    "RulesSettings",
    "Stale",
    "StatisticsReading",
    "Store",
    "StoreStatistics",
    "Stored",
    "after_revalidation",
    "cache_key",
    "client_not_modified",
    "conditional_fields",
    "invalidated_by",
    "lookup",
    "offload",
    "parse_directives",
    "parse_range",
    "range_applies",
    "read_statistics",
    "response_fields",
    "to_store",
    "usable_on_error",
]
