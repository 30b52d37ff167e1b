"""Discovery: the one way a process finds the others.

Layers, from the bottom:

- :class:`Snapshot` (``_snapshot.py``): a frozen view of the live system at one
  ``version``: every :class:`Member` (name, tier, role, host, data center,
  ports by name, health) and every :class:`RoleClaim` (who holds a role such as
  ``db/primary``, at which epoch). Parsed from and written to JSON with clear
  errors (:class:`~millionscale.errors.DiscoveryError`), never a traceback.
- :class:`Discovery` (``_protocol.py``): the read side, ``snapshot()`` and
  ``watch()``; :class:`RoleRegistry`: the write side for role holders (the
  failover monitor claims ``db/primary`` with its epoch, compare-and-set);
  :func:`follow` (``_follow.py``): the latest view as it changes, kept through
  the source's outages, for every reader that follows one.
- Implementations: :class:`StaticDiscovery` (``_static.py``) from a file or
  from arguments, for running a tier on its own or in a test;
  :class:`HttpDiscovery` (``_http.py``) reads the supervisor's control endpoint
  (served by ``millionscale.topology``: the live topology) over its Unix socket; a
  Kubernetes Endpoints, Consul or Patroni REST implementation would stand in
  the same place (docs/discovery.md sketches each).

Tiers (``lb``, ``db``, ``cache``...) import this package and nothing of
``millionscale.topology``: the supervisor is one source of snapshots among
others.
"""

from millionscale.discovery._claims import settle_claim
from millionscale.discovery._connect import TOKEN_FILE_ENV, connect
from millionscale.discovery._follow import follow
from millionscale.discovery._http import HttpDiscovery
from millionscale.discovery._protocol import Discovery, RoleRegistry
from millionscale.discovery._snapshot import (
    HEALTH,
    LEAVING,
    Health,
    Member,
    RoleClaim,
    Scaled,
    Snapshot,
)
from millionscale.discovery._static import StaticDiscovery

__all__ = [
    "HEALTH",
    "LEAVING",
    "TOKEN_FILE_ENV",
    "Discovery",
    "Health",
    "HttpDiscovery",
    "Member",
    "RoleClaim",
    "RoleRegistry",
    "Scaled",
    "Snapshot",
    "StaticDiscovery",
    "connect",
    "follow",
    "settle_claim",
]
