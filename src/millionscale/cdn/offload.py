"""Origin offload: what share of the bytes users got the CDN tier served without the origin.

Two readings of every member's counters (``GET /v1/statistics``, before and
after a run) give, for the run:

- **bytes served**: what the edges users reach (role ``edge``) sent their
  clients, cache hits and pass-through answers alike (``bytes_from_edge``);
- **origin bytes**: what the tier fetched from the origin. Where the tier has
  shields, that is the shields' fetches only: an edge's fetches from its shield
  are traffic inside the tier, not load on the origin. Without shields, the
  edges' own fetches are the origin's load;
- **edge share** = (served - origin) / served: the share of the bytes served
  that the origin did not have to send (Cloudflare and Fastly call it "origin
  offload", counted in bytes rather than requests);
- **hit ratio** per member = (hits + stale) / (hits + stale + misses +
  revalidated): answers from the store over lookups, as Fastly's hit ratio,
  hits / (hits + misses). Passes (unsafe methods: POST, ...) are not lookups.
  A GET whose answer may not be stored (the API's private JSON) is a miss: the
  edge learns it only from the answer (Varnish's hit-for-miss), so under a mix
  with API reads the ratio is the tier's request hit ratio over every GET,
  well under the ratio of the static files alone; the bytes' edge share is
  the figure that says what the origin was spared.

A counter that went down between the readings (the member restarted) counts
from zero: its delta is the second reading. A member missing from the first
reading counts from zero too. Pure: the readings come from the caller
(:func:`read_statistics` is the thin I/O beside it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "EdgeOffload",
    "Offload",
    "StatisticsReading",
    "offload",
    "read_statistics",
]

SHIELD = "shield"  # the role topology files give a shield (topologies/cdn.toml)
_COUNTERS = ("hits", "misses", "stale", "revalidated", "passed")
_BYTES = ("bytes_from_edge", "bytes_from_origin")


@dataclass(frozen=True, slots=True)
class StatisticsReading:
    """One member's counters at one moment, from its ``/v1/statistics`` body."""

    name: str
    role: str  # "edge" or "shield", as the topology file says
    hits: int = 0
    misses: int = 0
    stale: int = 0
    revalidated: int = 0
    passed: int = 0
    bytes_from_edge: int = 0
    bytes_from_origin: int = 0

    @classmethod
    def from_json(cls, name: str, role: str, body: Mapping[str, Any]) -> StatisticsReading:
        """From the admin API's ``{"edge": {...}, "store": {...}}``; absent or
        non-integer counters read as 0."""
        edge = body.get("edge")
        counters = edge if isinstance(edge, Mapping) else {}

        def count(key: str) -> int:
            value = counters.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        values = {key: count(key) for key in (*_COUNTERS, *_BYTES)}
        return cls(name=name, role=role, **values)


@dataclass(frozen=True, slots=True)
class EdgeOffload:
    """One member over the run."""

    name: str
    role: str
    hits: int  # hits and stale answers: from the store
    lookups: int  # hits, stale, misses (uncacheable GETs too) and revalidations; not passes
    bytes_served: int  # to its clients (for a shield: to the edges)
    bytes_fetched: int  # from its origin (for an edge behind a shield: from the shield)

    @property
    def hit_ratio(self) -> float | None:
        return self.hits / self.lookups if self.lookups else None


@dataclass(frozen=True, slots=True)
class Offload:
    """The tier over the run: every member, and the bytes users got vs the origin sent."""

    members: tuple[EdgeOffload, ...]
    served_bytes: int  # by the edges users reach
    origin_bytes: int  # fetched from the origin by the tier as a whole

    @property
    def edges(self) -> tuple[EdgeOffload, ...]:
        return tuple(m for m in self.members if m.role != SHIELD)

    @property
    def edge_share(self) -> float | None:
        """The share of the bytes served that the origin did not send (None: none served)."""
        if not self.served_bytes:
            return None
        return max(0, self.served_bytes - self.origin_bytes) / self.served_bytes

    def sentence(self) -> str:
        """``cdn: edges served 93% of 12.3 MB (hit ratio edge-1 91%, edge-2 92%); the
        origin sent 0.9 MB``."""
        ratios = ", ".join(
            f"{m.name} {_percent(m.hit_ratio)}" for m in self.members if m.role != SHIELD
        )
        shields = [m for m in self.members if m.role == SHIELD]
        if len(shields) == 1:
            ratios += f", at the shield {_percent(shields[0].hit_ratio)}"
        elif shields:
            ratios += ", at the shields " + ", ".join(
                f"{m.name} {_percent(m.hit_ratio)}" for m in shields
            )
        return (
            f"cdn: edges served {_percent(self.edge_share)} of {_megabytes(self.served_bytes)} "
            f"(hit ratio {ratios}); the origin sent {_megabytes(self.origin_bytes)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "served_bytes": self.served_bytes,
            "origin_bytes": self.origin_bytes,
            "edge_share": self.edge_share,
            "members": [
                {
                    "name": m.name,
                    "role": m.role,
                    "hits": m.hits,
                    "lookups": m.lookups,
                    "hit_ratio": m.hit_ratio,
                    "bytes_served": m.bytes_served,
                    "bytes_fetched": m.bytes_fetched,
                }
                for m in self.members
            ],
        }


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _delta(before: StatisticsReading | None, after: StatisticsReading, key: str) -> int:
    late: int = getattr(after, key)
    early: int = getattr(before, key) if before is not None else 0
    return late - early if late >= early else late  # went down: restarted, counts from zero


def offload(before: Iterable[StatisticsReading], after: Sequence[StatisticsReading]) -> Offload:
    """The tier's offload between two readings (members as in ``after``, in its order)."""
    earlier = {reading.name: reading for reading in before}
    members = []
    for reading in after:
        old = earlier.get(reading.name)
        d = {key: _delta(old, reading, key) for key in (*_COUNTERS, *_BYTES)}
        hits = d["hits"] + d["stale"]
        members.append(
            EdgeOffload(
                name=reading.name,
                role=reading.role,
                hits=hits,
                lookups=hits + d["misses"] + d["revalidated"],
                bytes_served=d["bytes_from_edge"],
                bytes_fetched=d["bytes_from_origin"],
            )
        )
    edges = [m for m in members if m.role != SHIELD]
    shields = [m for m in members if m.role == SHIELD]
    fetchers = shields or edges
    return Offload(
        members=tuple(members),
        served_bytes=sum(m.bytes_served for m in edges),
        origin_bytes=sum(m.bytes_fetched for m in fetchers),
    )


class _Client(Protocol):
    def call(self, method: str, path: str) -> dict[str, Any]: ...


def read_statistics(members: Iterable[tuple[str, str, _Client]]) -> list[StatisticsReading]:
    """Each member's ``GET /v1/statistics`` through its admin client (``(name, role,
    client)``; see :func:`millionscale.topology.admin.admin_clients`), in order.
    The client's errors (:class:`~millionscale.errors.AdminError`) propagate."""
    return [
        StatisticsReading.from_json(name, role, client.call("GET", "/v1/statistics"))
        for name, role, client in members
    ]
