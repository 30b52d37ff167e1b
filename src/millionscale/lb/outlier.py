"""Passive outlier detection: eject a backend that keeps failing real requests.

Active checks (:mod:`.health`) ask ``/readyz`` every two seconds; outlier
detection watches every response, so a backend that answers its checks but
fails its requests (a broken database pool, a bad deploy) leaves the rotation
after a handful of requests. The shell reports each attempt's outcome to
:meth:`OutlierDetector.on_response` and asks :meth:`OutlierDetector.ejected`
which backends are out now. The model and the defaults are Envoy's
(``config.cluster.v3.OutlierDetection``, ``source/common/upstream/
outlier_detection_impl.cc``), with Envoy's default of not telling local
(connection) failures apart from 5xx responses:

- **Detectors.** Three counters per backend, each reset by any outcome it
  does not count: *consecutive 5xx* (5xx responses and connection
  failures), *consecutive gateway failures* (502, 503, 504 and connection
  failures), *consecutive connection failures*. The first to reach its
  threshold (5, 5 and 5: Envoy's ``consecutive_5xx``,
  ``consecutive_gateway_failure`` and ``consecutive_local_origin_failure``)
  ejects; the reason names the most specific. (Envoy only *counts* gateway
  failures by default, ``enforcing_consecutive_gateway_failure = 0``; since
  every gateway failure is also a 5xx, with both thresholds at 5 the result
  is the same.)
- **Ejection time** grows linearly with the backend's ejections:
  ``min(base_ejection_s * k, max_ejection_s)`` for its k-th, 30 s, 60 s,
  ... 300 s (Envoy's ``base_ejection_time`` and ``max_ejection_time``). The
  multiplier k goes down by one for every ``interval_s`` (10 s, Envoy's
  ``interval``) the backend spends back in service, so a backend that
  recovered for good is ejected briefly again if it ever fails.
- **Return** when the ejection time has passed, exactly (Envoy returns hosts
  at its next 10 s sweep), with the counters reset.
- **Never more than the maximum share.** A backend is ejected only if the
  ejected backends, itself included, are at most ``max_ejection_percent``
  (10 %) of the backends, or, with ``always_eject_one``, if no backend is
  ejected yet. A detection that would go past the share is an
  :class:`Overflow`: reported, not ejected.
- **Never the whole pool.** The last backend in rotation is never ejected
  (a pool of one ejects nothing): an empty pool refuses every request for the
  ejection time, while the backend's own answers may be passing errors (a
  data center's only web server during its database's failover). Envoy
  ejects it and then, below its 50 % panic threshold, sends to every host
  as if none were ejected; we keep it in rotation, which is the same.

About "at least one": Envoy's documentation of ``max_ejection_percent`` says
"defaults to 10% but will eject at least one host regardless of the value",
which was its behaviour up to 1.27. Since 1.28 (runtime guard
``check_mep_on_first_eject``, legacy path removed in 1.31) Envoy checks the
share on the first ejection too, so with 10 % a cluster of fewer than ten
hosts ejects nothing, unless ``always_eject_one_host`` (added in 1.31,
default false) is set. grpc-java's xDS outlier detection lets one ejection
go past the maximum, "which the spec calls for" and "matches what Envoy
proxy does". A web tier of three servers is this project's common case, so
``always_eject_one`` defaults to true here (today's Envoy with
``always_eject_one_host: true``): one of three may be ejected, never two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from millionscale.lb.outcome import ConnectionFailure, Outcome, describe, is_5xx, is_gateway_error

__all__ = [
    "BASE_EJECTION_S",
    "CONSECUTIVE_5XX",
    "CONSECUTIVE_GATEWAY_FAILURE",
    "CONSECUTIVE_LOCAL_ORIGIN_FAILURE",
    "INTERVAL_S",
    "MAX_EJECTION_PERCENT",
    "MAX_EJECTION_S",
    "Ejection",
    "OutlierDetector",
    "OutlierPolicy",
    "OutlierStatistics",
    "Overflow",
    "Return",
]

CONSECUTIVE_5XX = 5  # Envoy's consecutive_5xx default
CONSECUTIVE_GATEWAY_FAILURE = 5  # Envoy's consecutive_gateway_failure default
CONSECUTIVE_LOCAL_ORIGIN_FAILURE = 5  # Envoy's consecutive_local_origin_failure default
BASE_EJECTION_S = 30.0  # Envoy's base_ejection_time default
MAX_EJECTION_S = 300.0  # Envoy's max_ejection_time default
MAX_EJECTION_PERCENT = 10.0  # Envoy's max_ejection_percent default
INTERVAL_S = 10.0  # Envoy's interval default: the step of the multiplier's decay


@dataclass(frozen=True, slots=True)
class OutlierPolicy:
    consecutive_5xx: int = CONSECUTIVE_5XX
    consecutive_gateway_failure: int = CONSECUTIVE_GATEWAY_FAILURE
    consecutive_local_origin_failure: int = CONSECUTIVE_LOCAL_ORIGIN_FAILURE
    base_ejection_s: float = BASE_EJECTION_S
    max_ejection_s: float = MAX_EJECTION_S
    max_ejection_percent: float = MAX_EJECTION_PERCENT
    always_eject_one: bool = True  # see the module docstring: Envoy's documented behaviour
    interval_s: float = INTERVAL_S

    def __post_init__(self) -> None:
        thresholds = (
            self.consecutive_5xx,
            self.consecutive_gateway_failure,
            self.consecutive_local_origin_failure,
        )
        if min(thresholds) < 1:
            raise ValueError("consecutive failure thresholds must be at least 1")
        if self.base_ejection_s <= 0 or self.interval_s <= 0:
            raise ValueError("base_ejection_s and interval_s must be positive")
        if self.max_ejection_s < self.base_ejection_s:
            # Envoy refuses the same: "max_ejection_time cannot be smaller than base_ejection_time"
            raise ValueError("max_ejection_s cannot be smaller than base_ejection_s")
        if not 0 <= self.max_ejection_percent <= 100:
            raise ValueError("max_ejection_percent must be within 0..100")

    @property
    def max_multiplier(self) -> int:
        """The multiplier past which the ejection time no longer grows."""
        return math.ceil(self.max_ejection_s / self.base_ejection_s)

    def max_ejected(self, backends: int) -> int:
        """The most backends that may be ejected at once out of ``backends``: never all."""
        return min(self.share_ejected(backends), max(backends - 1, 0))

    def share_ejected(self, backends: int) -> int:
        """The most the share allows out of ``backends`` (at least one with
        ``always_eject_one``), before the rule that the pool is never emptied."""
        share = math.floor(backends * self.max_ejection_percent / 100 + 1e-9)
        return max(share, 1 if self.always_eject_one and backends > 0 else 0)


@dataclass(frozen=True, slots=True)
class Ejection:
    """``backend`` is out of rotation from ``at`` until ``until`` (its ``times``-th ejection)."""

    backend: str
    at: float
    until: float
    times: int
    reason: str


@dataclass(frozen=True, slots=True)
class Overflow:
    """``backend`` was detected as an outlier but not ejected: the share is used up."""

    backend: str
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class Return:
    """``backend``'s ejection ended at ``at`` (its ejection time passed); it is back in rotation."""

    backend: str
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class OutlierStatistics:
    """Counters since the detector was made, and who is out as of the last event."""

    backends: int
    ejected: tuple[str, ...]
    ejections: int
    overflows: int
    returns: int
    times_ejected: Mapping[str, int]


@dataclass(slots=True)
class _Host:
    consecutive_5xx: int = 0
    consecutive_gateway: int = 0
    consecutive_local: int = 0
    ejected_at: float | None = None
    ejected_until: float | None = None
    multiplier: int = 0
    times_ejected: int = 0
    returned_at: float | None = None

    def reset(self) -> None:
        self.consecutive_5xx = self.consecutive_gateway = self.consecutive_local = 0


class OutlierDetector:
    """The ejection decisions for one pool of backends; see the module docstring."""

    def __init__(self, backends: Iterable[str] = (), policy: OutlierPolicy | None = None) -> None:
        self.policy = policy or OutlierPolicy()
        self._hosts: dict[str, _Host] = {}
        self._ejections = 0
        self._overflows = 0
        self._returns = 0
        self._next_return = math.inf  # the earliest ejected_until, to skip expire() scans
        for name in backends:
            self.add(name)

    # -- membership ---------------------------------------------------------------------

    def add(self, backend: str) -> None:
        """Watch ``backend`` too (it counts in the share from now on)."""
        self._hosts.setdefault(backend, _Host())

    def remove(self, backend: str) -> None:
        """Forget ``backend`` (removed from the pool), ejected or not."""
        self._hosts.pop(backend, None)

    # -- events -------------------------------------------------------------------------

    def on_response(self, backend: str, outcome: Outcome, now: float) -> Ejection | Overflow | None:
        """Count one attempt's outcome; an :class:`Ejection` or :class:`Overflow` when it
        completes a run of failures, else ``None``.

        Outcomes of a backend the detector does not know (removed meanwhile) or
        that is ejected now (requests that were in flight) are ignored.
        """
        host = self._hosts.get(backend)
        if host is None:
            return None
        self.expire(now)
        if host.ejected_until is not None:
            return None
        connection = isinstance(outcome, ConnectionFailure)
        host.consecutive_5xx = host.consecutive_5xx + 1 if is_5xx(outcome) else 0
        host.consecutive_gateway = host.consecutive_gateway + 1 if is_gateway_error(outcome) else 0
        host.consecutive_local = host.consecutive_local + 1 if connection else 0
        policy = self.policy
        if host.consecutive_local >= policy.consecutive_local_origin_failure:
            run = f"{host.consecutive_local} consecutive connection failures"
        elif host.consecutive_gateway >= policy.consecutive_gateway_failure:
            run = f"{host.consecutive_gateway} consecutive gateway errors"
        elif host.consecutive_5xx >= policy.consecutive_5xx:
            run = f"{host.consecutive_5xx} consecutive 5xx"
        else:
            return None
        run += f", the last {describe(outcome)}"
        host.reset()
        return self._eject(backend, host, run, now)

    def expire(self, now: float) -> list[Return]:
        """Return to rotation every backend whose ejection time has passed by ``now``."""
        if now < self._next_return:
            return []
        returns = []
        for name, host in self._hosts.items():
            until = host.ejected_until
            if until is not None and until <= now:
                lasted = until - (host.ejected_at or until)
                host.ejected_at = host.ejected_until = None
                host.returned_at = until
                host.reset()
                self._returns += 1
                returns.append(Return(name, until, f"{name} returns after {lasted:g} s ejected"))
        self._next_return = min(
            (h.ejected_until for h in self._hosts.values() if h.ejected_until is not None),
            default=math.inf,
        )
        return returns

    def ejected(self, now: float) -> frozenset[str]:
        """The backends out of rotation at ``now`` (expired ejections end first)."""
        self.expire(now)
        return frozenset(n for n, h in self._hosts.items() if h.ejected_until is not None)

    def is_ejected(self, backend: str, now: float) -> bool:
        return backend in self.ejected(now)

    def statistics(self) -> OutlierStatistics:
        return OutlierStatistics(
            backends=len(self._hosts),
            ejected=tuple(sorted(n for n, h in self._hosts.items() if h.ejected_until is not None)),
            ejections=self._ejections,
            overflows=self._overflows,
            returns=self._returns,
            times_ejected={n: h.times_ejected for n, h in self._hosts.items()},
        )

    # -- internals ----------------------------------------------------------------------

    def _eject(self, backend: str, host: _Host, run: str, now: float) -> Ejection | Overflow:
        policy = self.policy
        active = sum(1 for h in self._hosts.values() if h.ejected_until is not None)
        pool = len(self._hosts)
        if active >= policy.max_ejected(pool):
            self._overflows += 1
            if active < policy.share_ejected(pool):
                why = "it is the last backend in rotation, and a pool is never emptied"
            else:
                why = f"{active} of {pool} backends already ejected, the most {policy.max_ejection_percent:g} % allows"
            return Overflow(backend, now, f"{backend} not ejected after {run}: {why}")
        if host.returned_at is not None:
            back_for = max(now - host.returned_at, 0.0)
            host.multiplier = max(host.multiplier - int(back_for // policy.interval_s), 0)
        host.multiplier = min(host.multiplier + 1, policy.max_multiplier)
        host.times_ejected += 1
        duration = min(policy.base_ejection_s * host.multiplier, policy.max_ejection_s)
        host.ejected_at, host.ejected_until = now, now + duration
        self._next_return = min(self._next_return, now + duration)
        self._ejections += 1
        reason = f"{backend} ejected for {duration:g} s after {run} (ejection {host.times_ejected})"
        return Ejection(backend, now, now + duration, host.times_ejected, reason)
