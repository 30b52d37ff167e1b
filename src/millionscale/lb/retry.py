"""Whether a failed attempt is tried again elsewhere: retry decisions and a retry budget.

The shell tells :meth:`Retries.request` about every request a client sends,
and after each failed attempt asks :meth:`Retries.decide`, which answers
:class:`Retry` (with the backends to exclude from the next pick) or
:class:`GiveUp` (the client gets the failure), each with one sentence.

The rules, in the order they are applied:

1. **Only these failures** are retried: a connection failure, and a 502 or
   503 response (the backend, or a proxy in front of it, says it could not
   serve). Not a 500 (the backend ran the request and failed: a second run
   would most likely fail alike, and run its side effects twice), not a 504
   or a timeout (the request may still be running; sending it again doubles
   the load on a backend that is already too slow) unless ``retry_timeouts``
   is set.
2. **Never a non-idempotent request that may have reached a backend.** A
   request is idempotent when its method is (RFC 9110 §9.2.2: the safe
   methods GET, HEAD, OPTIONS and TRACE, and PUT and DELETE; method names are
   case-sensitive, §9.1, so ``get`` is unknown and not idempotent). For
   other methods, POST and PATCH above all, RFC 9110 §9.2.2 says a client
   "SHOULD NOT automatically retry a request with a non-idempotent method
   unless it has some means to know that the request semantics are actually
   idempotent, regardless of the method, or some means to detect that the
   original request was never applied". A connection that failed before any
   byte of the request was sent (``ConnectionFailure.CONNECT``) is such a
   means: those are retried whatever the method, as HAProxy's default
   ``retry-on conn-failure`` does. A reset after sending, a timeout, a 502
   or a 503 are not: the backend may have acted on the request, so only
   idempotent ones are retried.
3. **Only a request that can be sent again**: one whose body the shell
   streamed to the backend without keeping it (``replayable=False``) cannot.
4. **At most** ``max_attempts`` attempts per request (3: the first and two
   retries; Envoy's default ``num_retries`` is 1, HAProxy's ``retries`` 3).
5. **Within the retry budget** (:class:`RetryBudget`), so that retries
   cannot multiply the load on a failing tier.
6. **Elsewhere**: a :class:`Retry` names every backend the request tried in
   ``exclude``; the balancing policies pick one of those again only when no
   other is eligible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from millionscale.lb.outcome import ConnectionFailure, Outcome, describe

__all__ = [
    "BUDGET_MIN_RETRIES_PER_S",
    "BUDGET_PERCENT",
    "BUDGET_TTL_S",
    "IDEMPOTENT_METHODS",
    "MAX_ATTEMPTS",
    "RETRY_STATUSES",
    "BudgetPolicy",
    "BudgetStatistics",
    "GiveUp",
    "Retries",
    "Retry",
    "RetryBudget",
    "RetryDecision",
    "RetryPolicy",
    "RetryStatistics",
    "is_idempotent",
]

# RFC 9110 §9.2.2: "the request methods defined by this specification, PUT, DELETE, and
# safe request methods are idempotent"; the safe ones (§9.2.1) are GET, HEAD, OPTIONS and
# TRACE. CONNECT, POST and PATCH (RFC 5789) are not.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503})
# Our choice: the first attempt and two retries. With one of three backends dead, the
# second attempt goes to a live one; the third covers a second failure at the same time.
MAX_ATTEMPTS = 3
# Finagle's default RetryBudget (and tower's and Linkerd 1's): "allows for 20% of requests
# to be retried on top of a minimum of 10 retries per second ... credits expire after 10
# seconds". Envoy's retry_budget (budget_percent 20 %, min_retry_concurrency 3) bounds
# retries *in flight* rather than per second; its 3 is a concurrency, not a rate.
BUDGET_PERCENT = 0.2
BUDGET_MIN_RETRIES_PER_S = 10.0
BUDGET_TTL_S = 10.0
_SLICES = 10  # the window is kept as 10 slices (Finagle's WindowedAdder does the same)


def is_idempotent(method: str) -> bool:
    """Whether ``method`` is idempotent (RFC 9110 §9.2.2); case-sensitive, as methods are."""
    return method in IDEMPOTENT_METHODS


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """A :class:`RetryBudget`'s knobs: ``ratio`` of the requests (0.2: a fifth) on top of
    ``min_per_s`` retries a second, deposits expiring after ``ttl_s``."""

    ratio: float = BUDGET_PERCENT
    min_per_s: float = BUDGET_MIN_RETRIES_PER_S
    ttl_s: float = BUDGET_TTL_S

    def __post_init__(self) -> None:
        if self.ratio < 0 or self.min_per_s < 0 or self.ttl_s <= 0:
            raise ValueError("ratio and min_per_s must not be negative, ttl_s must be positive")

    def budget(self) -> RetryBudget:
        """A new, empty budget with these knobs."""
        return RetryBudget(percent=self.ratio, min_per_s=self.min_per_s, ttl_s=self.ttl_s)


@dataclass(frozen=True, slots=True)
class BudgetStatistics:
    requests: int  # deposits since the budget was made
    retries: int  # withdrawals granted
    refused: int  # withdrawals refused
    balance: float  # retries allowed now, as of the last call


class RetryBudget:
    """Retries allowed over a sliding window: ``min_per_s * ttl_s`` plus ``percent`` of the
    requests of the last ``ttl_s`` seconds, minus the retries of that window.

    Finagle's ``RetryBudget(ttl, minRetriesPerSec, percentCanRetry)`` and
    tower's ``Budget`` (a deposit per request, a withdrawal per retry, both
    expiring after ``ttl``, and a fixed reserve of ``min_per_s * ttl``).

    Guarantees (windows to within one slice, ``ttl_s / 10``): a retry is
    granted only if the retries of the last ``ttl_s``, it included, are at
    most the reserve plus ``percent`` of the requests of that window. Hence
    any ``ttl_s`` window holds at most the reserve plus ``percent`` of the
    requests of that window and the one before (a retry may spend a deposit
    made up to ``ttl_s`` earlier), so over time retries average at most
    ``percent`` of the requests plus ``min_per_s`` a second.
    """

    def __init__(
        self,
        *,
        percent: float = BUDGET_PERCENT,
        min_per_s: float = BUDGET_MIN_RETRIES_PER_S,
        ttl_s: float = BUDGET_TTL_S,
    ) -> None:
        if percent < 0 or min_per_s < 0 or ttl_s <= 0:
            raise ValueError("percent and min_per_s must not be negative, ttl_s must be positive")
        self.percent = percent
        self.reserve = min_per_s * ttl_s
        self._slice_s = ttl_s / _SLICES
        self._latest = -(2**62)  # the latest slice seen; slot = slice % _SLICES
        self._deposits = [0] * _SLICES
        self._withdrawals = [0] * _SLICES
        self._requests = 0
        self._retries = 0
        self._refused = 0
        self._balance = self.reserve

    def record_request(self, now: float) -> None:
        """One request (not a retry) was sent: it adds ``percent`` of a retry."""
        self._deposits[self._slot(now)] += 1
        self._requests += 1

    def try_withdraw(self, now: float) -> bool:
        """Take one retry from the budget if it allows one at ``now``."""
        if self.balance(now) < 1.0:
            self._refused += 1
            return False
        self._withdrawals[self._slot(now)] += 1
        self._retries += 1
        self._balance -= 1.0
        return True

    def balance(self, now: float) -> float:
        """How many retries the budget allows at ``now``."""
        self._slot(now)
        self._balance = self.reserve + self.percent * sum(self._deposits) - sum(self._withdrawals)
        return self._balance

    def statistics(self) -> BudgetStatistics:
        return BudgetStatistics(self._requests, self._retries, self._refused, self._balance)

    def _slot(self, now: float) -> int:
        """The slot of ``now``'s slice, after clearing the slots of expired slices."""
        current = math.floor(now / self._slice_s)
        if current > self._latest:
            for slice_id in range(max(self._latest + 1, current - _SLICES + 1), current + 1):
                slot = slice_id % _SLICES
                self._deposits[slot] = self._withdrawals[slot] = 0
            self._latest = current
        return min(current, self._latest) % _SLICES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = MAX_ATTEMPTS
    statuses: frozenset[int] = RETRY_STATUSES
    retry_timeouts: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (1: never retry)")


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again, on a backend not in ``exclude`` if one is eligible."""

    exclude: frozenset[str]
    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Do not try again: the client gets this attempt's failure."""

    reason: str


RetryDecision = Retry | GiveUp


@dataclass(frozen=True, slots=True)
class RetryStatistics:
    retries: int
    gave_up: int  # failures not retried, whatever the reason
    unsafe: int  # of which: non-idempotent requests that may have reached a backend
    over_budget: int  # of which: refused by the budget
    exhausted: int  # of which: out of attempts
    budget: BudgetStatistics


class Retries:
    """The retry decisions of one balancer (one budget for all its backends)."""

    def __init__(
        self, policy: RetryPolicy | None = None, budget: RetryBudget | None = None
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.budget = budget or RetryBudget()
        self._retries = 0
        self._gave_up = 0
        self._unsafe = 0
        self._over_budget = 0
        self._exhausted = 0

    def request(self, now: float) -> None:
        """A client request arrived (call once per request, not per attempt)."""
        self.budget.record_request(now)

    def decide(
        self,
        method: str,
        outcome: Outcome,
        *,
        tried: Sequence[str],
        now: float,
        replayable: bool = True,
    ) -> RetryDecision:
        """After a failed attempt: ``tried`` names the backends of every attempt so far,
        in order, the one that just failed last (``len(tried)`` is the attempt count)."""
        if not tried:
            raise ValueError("tried must name at least the backend that just failed")
        backend, attempts = tried[-1], len(tried)
        failure = f"{describe(outcome)} from {backend}"
        if isinstance(outcome, int) and outcome not in self.policy.statuses:
            allowed = ", ".join(str(s) for s in sorted(self.policy.statuses))
            return self._give_up(f"{failure}; only {allowed} and connection failures are retried")
        if outcome is ConnectionFailure.TIMEOUT and not self.policy.retry_timeouts:
            return self._give_up(f"{failure}; the request may still be running, not retried")
        if outcome is not ConnectionFailure.CONNECT and not is_idempotent(method):
            self._unsafe += 1
            return self._give_up(
                f"{failure}; {method} is not idempotent and may have reached {backend}"
            )
        if not replayable:
            return self._give_up(f"{failure}; the request body was not kept, it cannot be resent")
        if attempts >= self.policy.max_attempts:
            self._exhausted += 1
            return self._give_up(f"{failure}; {attempts} attempts made, the most allowed")
        if not self.budget.try_withdraw(now):
            self._over_budget += 1
            return self._give_up(f"{failure}; the retry budget is spent")
        self._retries += 1
        never_sent = " (never sent)" if outcome is ConnectionFailure.CONNECT else ""
        return Retry(
            frozenset(tried),
            f"{failure}{never_sent}; retrying (attempt {attempts + 1} of {self.policy.max_attempts})",
        )

    def statistics(self) -> RetryStatistics:
        return RetryStatistics(
            retries=self._retries,
            gave_up=self._gave_up,
            unsafe=self._unsafe,
            over_budget=self._over_budget,
            exhausted=self._exhausted,
            budget=self.budget.statistics(),
        )

    def _give_up(self, reason: str) -> GiveUp:
        self._gave_up += 1
        return GiveUp(reason)
