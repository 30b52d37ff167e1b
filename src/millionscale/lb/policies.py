"""Which backend serves the next request: balancing policies, pure and typed.

The shell describes every backend it knows as a :class:`BackendView` (taken
at decision time) and asks a policy to :meth:`~Policy.pick` one. The answer
is a :class:`Pick` (a backend and a one-line ``reason``) or a
:class:`NoBackend` (a ``reason``, the shell answers 503). Policies keep only
what their rule needs (a turn counter, nginx's current weights, a hash ring);
time, health and load come in with the views.

Rules every policy keeps:

1. Only an *eligible* backend (``eligible`` and ``weight > 0``) is picked:
   the shell marks a backend ineligible while it is down, rising, ejected by
   outlier detection, draining or removed. Weight 0 means "no new requests"
   (HAProxy's meaning of ``weight 0``).
2. ``exclude`` names backends a request already tried; a policy picks one of
   them only when no other is eligible, and says so in the reason. A retry
   therefore never goes back to the same backend while another is available.
3. Weights are multiplied by the backend's slow-start factor (see
   :mod:`.health`) by every policy that reads weights: all but
   :class:`RoundRobin`, which ignores weights, and :class:`ConsistentHash`,
   where a key's backend must not depend on time (Envoy's slow start, too,
   applies to its round robin and least request balancers only).

Policies, by the names :func:`make_policy` knows:

============================  =============================================================
``p2c-ewma`` (the default)    two eligible backends drawn at random; the one with the lower
                              ``latency * (outstanding + 1) / weight`` wins (Finagle's and
                              Linkerd's peak-EWMA power of two choices)
``round-robin``               each eligible backend in turn, weights ignored
``weighted``                  nginx's smooth weighted round-robin
``least-outstanding``         the fewest outstanding requests per unit of weight, ties in turn
                              (HAProxy's ``leastconn``)
``consistent-hash``           a hash ring over the request's key (a header or cookie value);
                              without a key, round-robin (HAProxy's ``balance hdr()`` does so)
============================  =============================================================

The latency each view carries is an :class:`Ewma` the shell feeds with every
response's latency.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from millionscale.errors import ConfigError

__all__ = [
    "DEFAULT_POLICY",
    "EWMA_DECAY_S",
    "EWMA_DEFAULT_RTT_S",
    "POLICIES",
    "RING_POINTS_PER_WEIGHT",
    "BackendView",
    "ConsistentHash",
    "Decision",
    "Ewma",
    "LeastOutstanding",
    "NoBackend",
    "Pick",
    "Policy",
    "PolicyStatistics",
    "PowerOfTwoChoices",
    "RoundRobin",
    "WeightedRoundRobin",
    "make_policy",
]

# The time constant of the latency average: Finagle's Balancers.p2cPeakEwma(decayTime =
# 10.seconds) default and linkerd2-proxy's EWMA_DECAY. A time constant, not a half-life:
# an old sample's weight falls to 1/e in 10 s, to one half in 10 s * ln 2 ≈ 6.9 s.
EWMA_DECAY_S = 10.0
# The latency assumed of a backend not measured yet: linkerd2-proxy's EWMA_DEFAULT_RTT.
EWMA_DEFAULT_RTT_S = 0.030
# Points on the hash ring per unit of weight: libketama's 160 per server (40 MD5 digests
# of 4 points each). A backend's share of the keys is then within about 1/sqrt(160) ≈ 8 %
# (one standard deviation) of its fair share.
RING_POINTS_PER_WEIGHT = 160


# -- the facts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackendView:
    """One backend as the balancer sees it at decision time.

    ``weight``: the configured weight (HAProxy's 0-256; 0 takes no new
    request). ``eligible``: healthy, not ejected, not draining: the shell's
    verdict. ``outstanding``: requests sent to it and not answered yet.
    ``latency_s``: its :meth:`Ewma.value` now. ``slow_start``: the factor in
    ``(0, 1]`` its weight is multiplied by while it warms up (1: warm).
    """

    name: str
    weight: int = 1
    eligible: bool = True
    outstanding: int = 0
    latency_s: float = EWMA_DEFAULT_RTT_S
    slow_start: float = 1.0

    def __post_init__(self) -> None:
        if self.weight < 0 or self.outstanding < 0 or self.latency_s < 0:
            raise ValueError(f"{self.name}: weight, outstanding and latency must not be negative")
        if not 0.0 < self.slow_start <= 1.0:
            raise ValueError(f"{self.name}: slow_start must be in (0, 1], not {self.slow_start}")

    @property
    def effective_weight(self) -> float:
        """The weight the policies use: ``weight * slow_start``."""
        return self.weight * self.slow_start


@dataclass(frozen=True, slots=True)
class Pick:
    """Send the request to ``backend``."""

    backend: str
    reason: str


@dataclass(frozen=True, slots=True)
class NoBackend:
    """No backend can take the request (the shell answers 503)."""

    reason: str


Decision = Pick | NoBackend


@dataclass(frozen=True, slots=True)
class PolicyStatistics:
    """Counters since the policy was made: ``picks`` per backend, ``repeats`` (picks of
    a backend the request had already tried, for want of another), ``no_backend``."""

    policy: str
    picks: Mapping[str, int]
    repeats: int
    no_backend: int


class Policy(Protocol):
    """A balancing policy.

    Contract: :meth:`pick` returns a :class:`Pick` naming an eligible backend
    of ``backends`` (never an ineligible one, never one in ``exclude`` while
    another is eligible), or :class:`NoBackend` when none is eligible. It
    never raises for any list of valid views, including an empty one.
    """

    @property
    def name(self) -> str: ...

    def pick(
        self,
        backends: Sequence[BackendView],
        *,
        key: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision: ...

    def statistics(self) -> PolicyStatistics: ...


# -- latency ------------------------------------------------------------------------------


class Ewma:
    """A backend's latency as a peak-sensitive moving average (peak EWMA).

    The model is Finagle's ``PeakEwma`` and tower's ``peak_ewma`` (Linkerd):

    - a response slower than the estimate replaces it at once, so a backend
      that turns slow is avoided from its first slow response;
    - a response at most as slow is averaged in with weight
      ``1 - exp(-Δt / decay_s)``, ``Δt`` the time since the previous update,
      so the estimate comes down over about ``decay_s``;
    - while no response arrives, :meth:`value` decays towards zero with the
      same time constant (both peers decay the estimate when they read it),
      so a backend the balancer stopped using looks cheaper as time passes
      and gets a request again, whose latency then counts.

    ``value`` is a pure function of the samples and ``now``: reading does
    not change the estimate.
    """

    __slots__ = ("_decay_s", "_estimate", "_stamp", "samples")

    def __init__(
        self,
        *,
        now: float,
        decay_s: float = EWMA_DECAY_S,
        initial_s: float = EWMA_DEFAULT_RTT_S,
    ) -> None:
        if decay_s <= 0 or initial_s < 0:
            raise ValueError("decay_s must be positive and initial_s not negative")
        self._decay_s = decay_s
        self._estimate = initial_s
        self._stamp = now
        self.samples = 0

    @property
    def half_life_s(self) -> float:
        """The time in which an old sample's weight halves: ``decay_s * ln 2``."""
        return self._decay_s * math.log(2)

    def observe(self, latency_s: float, now: float) -> None:
        """Count one response's latency: request sent to the response's head (the balancer
        streams bodies, so their transfer time is the client's, not the backend's)."""
        if latency_s < 0:
            raise ValueError(f"a latency is not negative: {latency_s}")
        if latency_s > self._estimate:
            self._estimate = latency_s
        else:
            kept = math.exp(-max(now - self._stamp, 0.0) / self._decay_s)
            self._estimate = self._estimate * kept + latency_s * (1.0 - kept)
        self._stamp = max(now, self._stamp)
        self.samples += 1

    def value(self, now: float) -> float:
        """The estimate at ``now``, in seconds."""
        return self._estimate * math.exp(-max(now - self._stamp, 0.0) / self._decay_s)


# -- shared rules -----------------------------------------------------------------------------


_REPEAT = "every eligible backend was tried; "


def _candidates(
    backends: Sequence[BackendView], exclude: Collection[str]
) -> tuple[list[BackendView], str]:
    """The eligible backends not tried yet, or, when every eligible one was tried, all
    the eligible ones (with a note for the reason)."""
    eligible = [b for b in backends if b.eligible and b.weight > 0]
    if not exclude or not eligible:
        return eligible, ""
    fresh = [b for b in eligible if b.name not in exclude]
    if fresh:
        return fresh, ""
    return eligible, _REPEAT


def _none_reason(backends: Sequence[BackendView]) -> str:
    if not backends:
        return "no backend configured"
    return f"none of {len(backends)} backends is eligible (down, ejected, draining or weight 0)"


class _Counting:
    """Pick counters shared by the policies (``statistics()``)."""

    name = "policy"

    def __init__(self) -> None:
        self._picks: dict[str, int] = {}
        self._repeats = 0
        self._no_backend = 0

    def _chose(self, backend: str, reason: str, note: str) -> Pick:
        self._picks[backend] = self._picks.get(backend, 0) + 1
        if note:
            self._repeats += 1
        return Pick(backend, note + reason)

    def _nothing(self, backends: Sequence[BackendView]) -> NoBackend:
        self._no_backend += 1
        return NoBackend(_none_reason(backends))

    def statistics(self) -> PolicyStatistics:
        return PolicyStatistics(self.name, dict(self._picks), self._repeats, self._no_backend)


# -- the policies ---------------------------------------------------------------------------


class RoundRobin(_Counting):
    """Each eligible backend in turn, weights and load ignored.

    Over ``k * n`` picks among ``n`` unchanging eligible backends, each is
    picked exactly ``k`` times.
    """

    name = "round-robin"

    def __init__(self) -> None:
        super().__init__()
        self._turn = 0

    def pick(
        self,
        backends: Sequence[BackendView],
        *,
        key: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        candidates, note = _candidates(backends, exclude)
        if not candidates:
            return self._nothing(backends)
        chosen = candidates[self._turn % len(candidates)]
        self._turn += 1
        return self._chose(chosen.name, f"{chosen.name} is next in turn of {len(candidates)}", note)


class WeightedRoundRobin(_Counting):
    """nginx's smooth weighted round-robin (``ngx_http_upstream_get_peer``).

    At each pick every candidate's *current weight* grows by its effective
    weight; the largest wins and loses the sum of the effective weights. With
    integer weights that do not change, every run of ``sum(weights)`` picks
    from a fresh start gives each backend exactly its weight in picks, spread
    out rather than in bursts (weights 5, 1, 1 give ``a a b a c a a``).
    A backend's current weight survives its being ineligible for a while,
    as in nginx; a backend that leaves the list is forgotten.
    """

    name = "weighted"

    def __init__(self) -> None:
        super().__init__()
        self._current: dict[str, float] = {}

    def pick(
        self,
        backends: Sequence[BackendView],
        *,
        key: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        candidates, note = _candidates(backends, exclude)
        if not candidates:
            return self._nothing(backends)
        if len(self._current) > len(backends):
            known = {b.name for b in backends}
            self._current = {n: w for n, w in self._current.items() if n in known}
        total = 0.0
        best, best_current = candidates[0], -math.inf
        for backend in candidates:
            weight = backend.effective_weight
            current = self._current.get(backend.name, 0.0) + weight
            self._current[backend.name] = current
            total += weight
            if current > best_current:
                best, best_current = backend, current
        self._current[best.name] = best_current - total
        share = f"weight {best.effective_weight:g} of {total:g}"
        return self._chose(best.name, f"{best.name} is due by weight ({share})", note)


class LeastOutstanding(_Counting):
    """The backend with the fewest outstanding requests per unit of effective weight
    (``(outstanding + 1) / weight``, as Envoy's least request weighs hosts and
    HAProxy's ``leastconn`` picks); equal backends are taken in turn, so an idle
    balancer still spreads its requests."""

    name = "least-outstanding"

    def __init__(self) -> None:
        super().__init__()
        self._turn = 0

    def pick(
        self,
        backends: Sequence[BackendView],
        *,
        key: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        candidates, note = _candidates(backends, exclude)
        if not candidates:
            return self._nothing(backends)
        scores = [(b.outstanding + 1) / b.effective_weight for b in candidates]
        lowest = min(scores)
        tied = [b for b, s in zip(candidates, scores, strict=True) if s == lowest]
        chosen = tied[self._turn % len(tied)]
        self._turn += 1
        load = f"{chosen.outstanding} outstanding"
        if chosen.effective_weight != 1:
            load += f" for weight {chosen.effective_weight:g}"
        return self._chose(chosen.name, f"{chosen.name} is the least loaded ({load})", note)


class PowerOfTwoChoices(_Counting):
    """Power of two choices over peak-EWMA latency: the default policy.

    Two distinct eligible backends are drawn uniformly at random
    (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing",
    2001); the one with the lower cost wins, cost being
    ``latency_s * (outstanding + 1) / effective_weight`` (Finagle's
    ``P2CPeakEwma`` and Linkerd's balancer multiply the latency estimate by
    the pending requests plus one). Equal costs go to the backend with fewer
    outstanding requests, then to the first drawn.

    Why not just the cheapest of all: every balancer reading the same stale
    costs would pile on the same backend; drawing two keeps the choice
    spread while avoiding the worst. A backend that is slow or busy loses
    nearly every draw it is in; the worst of three is never chosen unless
    the other two are ineligible. ``rng`` draws the pair; inject
    ``random.Random(seed)`` for repeatable tests.
    """

    name = "p2c-ewma"

    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__()
        self._rng = rng or random.Random()

    def pick(
        self,
        backends: Sequence[BackendView],
        *,
        key: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        candidates, note = _candidates(backends, exclude)
        n = len(candidates)
        if n == 0:
            return self._nothing(backends)
        if n == 1:
            only = candidates[0]
            return self._chose(only.name, f"{only.name} is the only candidate", note)
        i = self._rng.randrange(n)
        j = self._rng.randrange(n - 1)
        first, second = candidates[i], candidates[j + (j >= i)]
        if (_cost(second), second.outstanding) < (_cost(first), first.outstanding):
            first, second = second, first
        reason = f"{first.name} ({_cost_text(first)}) beats {second.name} ({_cost_text(second)})"
        return self._chose(first.name, reason, note)


def _cost(backend: BackendView) -> float:
    return backend.latency_s * (backend.outstanding + 1) / backend.effective_weight


def _cost_text(backend: BackendView) -> str:
    text = f"{backend.latency_s * 1000:.3g} ms * {backend.outstanding + 1}"
    if backend.effective_weight != 1:
        text += f" / {backend.effective_weight:.3g}"
    return text


@dataclass(frozen=True, slots=True)
class _Ring:
    members: tuple[tuple[str, int], ...]  # (name, weight), what the ring was built from
    hashes: tuple[int, ...]  # sorted points
    owners: tuple[str, ...]  # owners[i] owns hashes[i]


class ConsistentHash(_Counting):
    """Consistent hashing of a request key (a header or cookie value) on a hash ring.

    Each backend owns ``points_per_weight * weight`` points on a 64-bit ring
    (BLAKE2b of ``"name#i"``); a key goes to the owner of the first point at
    or after its own hash, walking on past points whose backend is not a
    candidate. The ring is built from every backend of positive weight,
    eligible or not, and rebuilt only when names or weights change.

    Guarantees:

    - **Stable**: the same key goes to the same backend while that backend is
      eligible, whatever happens to the others.
    - **Minimal movement**: adding a backend moves only the keys it now owns
      (about ``1/(n+1)`` of them); removing one, or its becoming ineligible,
      moves only the keys it owned (about ``1/n``), to the next points on
      the ring, so they spread over the others rather than land on one.

    Why a ring, among the consistent hashes:

    - *Jump hash* (Lamping and Veach, 2014) numbers backends ``0..n-1`` and
      can only add or remove the last one: removing a backend from the middle
      renumbers the others and moves far more than ``1/n`` of the keys.
    - *Maglev* (Eisenbud et al., 2016) looks up in O(1) in a table of a
      prime size (Envoy: 65537), but its movement on a change is close to,
      not at, the minimum, and leaving out an unhealthy backend means
      rebuilding the whole table (about 65 537 * n steps in Python).
    - *Rendezvous* hashing moves the minimum but hashes the key once per
      backend on every request.
    - A *ring* (Karger et al., 1997; libketama; HAProxy's ``hash-type
      consistent``; Envoy's ``RING_HASH``) costs one hash and a binary search
      per request, moves the minimum, takes weights as numbers of points, and
      skips an unhealthy backend without a rebuild. Its price is memory (160
      points per unit of weight) and a share per backend within about 8 % of
      the fair one.

    Without a key the request goes to ``fallback`` (round-robin by default:
    HAProxy's ``balance hdr(name)`` falls back to round-robin when the header
    is absent). Slow start does not apply: a warming backend still gets
    exactly its keys.
    """

    name = "consistent-hash"

    def __init__(
        self,
        *,
        points_per_weight: int = RING_POINTS_PER_WEIGHT,
        fallback: Policy | None = None,
    ) -> None:
        if points_per_weight < 1:
            raise ValueError("points_per_weight must be at least 1")
        super().__init__()
        self._points = points_per_weight
        self._fallback: Policy = fallback or RoundRobin()
        self._ring = _Ring((), (), ())

    def pick(
        self,
        backends: Sequence[BackendView],
        *,
        key: str | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        if key is None:
            decision = self._fallback.pick(backends, exclude=exclude)
            if isinstance(decision, NoBackend):
                return self._nothing(backends)
            note, reason = "", decision.reason
            if reason.startswith(_REPEAT):
                note, reason = _REPEAT, reason.removeprefix(_REPEAT)
            return self._chose(decision.backend, f"no hash key; {reason}", note)
        candidates, note = _candidates(backends, exclude)
        if not candidates:
            return self._nothing(backends)
        ring = self._ring_of(backends)
        wanted = {b.name for b in candidates}
        start = bisect.bisect_left(ring.hashes, _hash(key)) % len(ring.hashes)
        home = ring.owners[start]
        for step in range(len(ring.owners)):
            owner = ring.owners[(start + step) % len(ring.owners)]
            if owner in wanted:
                break
        else:  # pragma: no cover - every candidate owns at least one point
            raise AssertionError("a candidate backend has no point on the ring")
        if owner == home:
            return self._chose(owner, f"the key hashes to {owner}", note)
        why = "already tried" if home in exclude else "not eligible"
        reason = f"the key hashes to {home}, {why}; {owner} is next on the ring"
        return self._chose(owner, reason, note)

    def _ring_of(self, backends: Sequence[BackendView]) -> _Ring:
        members = tuple(sorted((b.name, b.weight) for b in backends if b.weight > 0))
        if members != self._ring.members:
            points = sorted(
                (_hash(f"{name}#{i}"), name)
                for name, weight in members
                for i in range(self._points * weight)
            )
            self._ring = _Ring(
                members, tuple(h for h, _ in points), tuple(name for _, name in points)
            )
        return self._ring


def _hash(text: str) -> int:
    """A 64-bit hash that is the same in every process (``hash()`` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


# -- by name ------------------------------------------------------------------------------------

DEFAULT_POLICY = "p2c-ewma"
POLICIES = ("p2c-ewma", "round-robin", "weighted", "least-outstanding", "consistent-hash")


def make_policy(name: str = DEFAULT_POLICY, *, rng: random.Random | None = None) -> Policy:
    """The policy called ``name`` (one of :data:`POLICIES`), e.g. from a topology file.

    ``rng`` is used by the policies that draw at random (``p2c-ewma``).
    """
    match name:
        case "p2c-ewma":
            return PowerOfTwoChoices(rng)
        case "round-robin":
            return RoundRobin()
        case "weighted":
            return WeightedRoundRobin()
        case "least-outstanding":
            return LeastOutstanding()
        case "consistent-hash":
            return ConsistentHash()
    raise ConfigError(
        f"unknown balancing policy {name!r}",
        hint=f"use one of: {', '.join(POLICIES)}",
    )
