"""The load balancer: send each request to a backend that is alive and fast.

The public surface: :class:`Balancer` (the proxy, run by ``python -m
millionscale.lb``), configured by one frozen :class:`BalancerSettings`,
reporting through ``statistics()`` (:class:`BalancerStatistics`), its
backends taken from Discovery (:meth:`Balancer.follow`) or added by hand;
and the pure cores below, usable on their own.

Layers, bottom up (pure: no sockets, time passed in as ``now``):

- :mod:`.outcome` names what an attempt came back with: a status, or how
  the connection failed (before or after the request was sent);
- :mod:`.policies` is the choice of a backend for a request: round-robin,
  smooth weighted round-robin, least outstanding requests, power of two
  choices over peak-EWMA latency (the default), consistent hashing; and the
  :class:`Ewma` latency tracker the default feeds on;
- :mod:`.health` is the active health check state machine of one backend
  (HAProxy's rise and fall), with slow start and graceful drain;
- :mod:`.outlier` is passive outlier detection over a pool (Envoy's
  consecutive failures, growing ejection time, maximum ejected share);
- :mod:`.retry` decides whether a failed attempt is retried elsewhere,
  within a retry budget;
- :mod:`.membership` reconciles the backends with a discovery snapshot
  (add the ready, drain the gone);
- :mod:`.settings` holds every knob (:class:`BalancerSettings`) and its flag;
  :mod:`.statistics` the frozen records ``statistics()`` returns.
- :mod:`.head` is the request-head rules (smuggling, limits, Host, methods,
  versions): :func:`check_head` gives a :class:`RequestHead` to forward or a
  :class:`Refusal`, under the :class:`HttpLimits` of :mod:`.limits`;
  :mod:`.headers` the header-field rules and the one table of field kinds.

The shell around them (sockets, a clock, the event loop): :mod:`.connection`
(the client side: llhttp parsing fed to :mod:`.head`, pipelining, flow
control, timeouts on a :mod:`.deadline`), :mod:`.answers` (the answers the
balancer writes itself), :mod:`.balancer` (the :class:`Balancer`, composing
the rest), :mod:`.backend` (a backend and its pool of kept-alive
connections), :mod:`.upstream` (one connection to a backend: its responses
parsed and their heads rewritten), :mod:`.forward` (one request: its
attempts, retries and streaming), :mod:`.checker` (the active health checks'
task), :mod:`.http` (whole requests to an async handler: the admin API),
:mod:`.metrics`, and ``python -m millionscale.lb``.

How the shell combines them, per backend: ``eligible`` is
``health.serving and not outlier-ejected``, ``slow_start`` is
``health.slow_start_factor(now)``, ``latency_s`` is ``ewma.value(now)``;
those go into a :class:`BackendView` for :meth:`Policy.pick`.
"""

from millionscale.lb.balancer import Balancer
from millionscale.lb.head import Refusal, RequestHead, check_head
from millionscale.lb.health import (
    DRAIN_TIMEOUT_S,
    FALL,
    INTER_S,
    RISE,
    SLOW_START_MIN_FACTOR,
    SLOW_START_S,
    TRANSITIONS,
    Event,
    HealthCheck,
    HealthPolicy,
    HealthStatistics,
    IllegalTransition,
    InitState,
    State,
    Transition,
)
from millionscale.lb.limits import HttpLimits
from millionscale.lb.membership import Add, Drain, Plan, Present, Remove, reconcile
from millionscale.lb.outcome import ConnectionFailure, Outcome
from millionscale.lb.outlier import (
    Ejection,
    OutlierDetector,
    OutlierPolicy,
    OutlierStatistics,
    Overflow,
    Return,
)
from millionscale.lb.policies import (
    DEFAULT_POLICY,
    EWMA_DECAY_S,
    EWMA_DEFAULT_RTT_S,
    POLICIES,
    BackendView,
    ConsistentHash,
    Decision,
    Ewma,
    LeastOutstanding,
    NoBackend,
    Pick,
    Policy,
    PolicyStatistics,
    PowerOfTwoChoices,
    RoundRobin,
    WeightedRoundRobin,
    make_policy,
)
from millionscale.lb.retry import (
    IDEMPOTENT_METHODS,
    BudgetPolicy,
    BudgetStatistics,
    GiveUp,
    Retries,
    Retry,
    RetryBudget,
    RetryDecision,
    RetryPolicy,
    RetryStatistics,
    is_idempotent,
)
from millionscale.lb.settings import KNOBS, BalancerSettings, Knob
from millionscale.lb.statistics import BackendStatistics, BalancerStatistics

__all__ = [
    "DEFAULT_POLICY",
    "DRAIN_TIMEOUT_S",
    "EWMA_DECAY_S",
    "EWMA_DEFAULT_RTT_S",
    "FALL",
    "IDEMPOTENT_METHODS",
    "INTER_S",
    "KNOBS",
    "POLICIES",
    "RISE",
    "SLOW_START_MIN_FACTOR",
    "SLOW_START_S",
    "TRANSITIONS",
    "Add",
    "BackendStatistics",
    "BackendView",
    "Balancer",
    "BalancerSettings",
    "BalancerStatistics",
    "BudgetPolicy",
    "BudgetStatistics",
    "ConnectionFailure",
    "ConsistentHash",
    "Decision",
    "Drain",
    "Ejection",
    "Event",
    "Ewma",
    "GiveUp",
    "HealthCheck",
    "HealthPolicy",
    "HealthStatistics",
    "HttpLimits",
    "IllegalTransition",
    "InitState",
    "Knob",
    "LeastOutstanding",
    "NoBackend",
    "Outcome",
    "OutlierDetector",
    "OutlierPolicy",
    "OutlierStatistics",
    "Overflow",
    "Pick",
    "Plan",
    "Policy",
    "PolicyStatistics",
    "PowerOfTwoChoices",
    "Present",
    "Refusal",
    "Remove",
    "RequestHead",
    "Retries",
    "Retry",
    "RetryBudget",
    "RetryDecision",
    "RetryPolicy",
    "RetryStatistics",
    "Return",
    "RoundRobin",
    "State",
    "Transition",
    "WeightedRoundRobin",
    "check_head",
    "is_idempotent",
    "make_policy",
    "reconcile",
]
