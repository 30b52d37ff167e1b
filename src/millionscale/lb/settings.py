"""Every knob of one balancer, in one frozen record, and the command-line flags for them.

:class:`BalancerSettings` gathers the cores' own policies (:class:`HealthPolicy`,
:class:`OutlierPolicy`, :class:`RetryPolicy`, :class:`BudgetPolicy`), the
HTTP limits (:class:`HttpLimits`) and the shell's timeouts and sizes. Each
default is the module constant that carries its source (``INTER_S = 2.0  #
HAProxy's default``); this module adds none of its own but for
``SHUTDOWN_GRACE_S``.

:data:`KNOBS` is the one table of the knobs: where a knob sits in the
record, its flag, its type and the range it must lie in. Construction checks
every knob against it (a value out of range, NaN or infinity is a
:class:`~millionscale.errors.ConfigError` naming the flag and the range);
:func:`add_flags` and :func:`from_flags` build the command line from it, so
a knob is never settable in one place and not the other.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from millionscale.errors import ConfigError
from millionscale.lb.health import HealthPolicy, InitState
from millionscale.lb.http import HttpLimits
from millionscale.lb.outlier import OutlierPolicy
from millionscale.lb.paths import DEFAULT_PRIVATE_PATHS
from millionscale.lb.policies import (
    DEFAULT_POLICY,
    EWMA_DECAY_S,
    EWMA_DEFAULT_RTT_S,
    POLICIES,
    RING_POINTS_PER_WEIGHT,
    ConsistentHash,
    Policy,
    make_policy,
)
from millionscale.lb.retry import BudgetPolicy, RetryPolicy

__all__ = [
    "CHECK_PATH",
    "CONNECT_TIMEOUT_S",
    "KNOBS",
    "POOL_IDLE_S",
    "POOL_MAX_IDLE",
    "REPLAY_BYTES",
    "RESPONSE_TIMEOUT_S",
    "SHUTDOWN_GRACE_S",
    "BalancerSettings",
    "Knob",
    "add_flags",
    "flags_of",
    "from_flags",
]

# HAProxy's `timeout connect` in its documentation's examples is 5 s; on a LAN a connect
# takes well under a millisecond, so 1 s already means the host is gone.
CONNECT_TIMEOUT_S = 1.0
# HAProxy's `timeout server` as commonly set (30 s); nginx's proxy_read_timeout is 60 s.
RESPONSE_TIMEOUT_S = 30.0
# Below uvicorn's default keep-alive (5 s), so a pooled connection is never one the
# backend is about to close (the idle timeout must stay below the backend's).
POOL_IDLE_S = 4.0
POOL_MAX_IDLE = 64  # ours: idle connections kept per backend
# Ours: request bodies up to this size are read whole and kept for a retry; larger ones
# stream. 64 KiB is HAProxy's default buffer size times four (nginx's
# client_body_buffer_size is 8-16 KiB); the photo app's JSON bodies fit.
REPLAY_BYTES = 64 * 1024
CHECK_PATH = "/readyz"  # the readiness endpoint every tier of ours serves
# Ours: on SIGTERM, requests in flight get this long to be answered (uvicorn's default
# graceful shutdown has no limit; Kubernetes gives a pod 30 s in all).
SHUTDOWN_GRACE_S = 5.0

_DAY_S = 86_400.0  # no duration knob makes sense beyond a day
_GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class BalancerSettings:
    """How one balancer balances, checks, ejects, retries, times out and drains.

    Frozen: a balancer's settings do not change while it runs (its backends
    do). Every field is range-checked at construction against :data:`KNOBS`;
    the nested policies check their own cross-field rules (``max_ejection_s``
    not below ``base_ejection_s``) and raise ``ValueError``, which
    :func:`from_flags` turns into a :class:`ConfigError`.
    """

    policy: str = DEFAULT_POLICY
    hash_header: str | None = None  # the key of `consistent-hash`
    ring_points_per_weight: int = RING_POINTS_PER_WEIGHT
    ewma_decay_s: float = EWMA_DECAY_S
    ewma_default_rtt_s: float = EWMA_DEFAULT_RTT_S
    health: HealthPolicy = field(default_factory=HealthPolicy)
    init_state: InitState = InitState.UP  # of the backends there at the start
    check_path: str = CHECK_PATH
    outliers: OutlierPolicy = field(default_factory=OutlierPolicy)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    response_timeout_s: float = RESPONSE_TIMEOUT_S
    pool_idle_s: float = POOL_IDLE_S
    pool_max_idle: int = POOL_MAX_IDLE
    replay_bytes: int = REPLAY_BYTES
    limits: HttpLimits = field(default_factory=HttpLimits)
    private_paths: tuple[str, ...] = DEFAULT_PRIVATE_PATHS
    shutdown_grace_s: float = SHUTDOWN_GRACE_S

    def __post_init__(self) -> None:
        for knob in KNOBS:
            knob.check(knob.value(self))
        if not self.check_path.startswith("/"):
            raise ConfigError(
                f"--check-path {self.check_path!r} is not a path",
                hint="give a path such as /readyz",
            )

    def make_policy(self, rng: random.Random | None = None) -> Policy:
        if self.policy == "consistent-hash":
            return ConsistentHash(points_per_weight=self.ring_points_per_weight)
        return make_policy(self.policy, rng=rng)


@dataclass(frozen=True, slots=True)
class Knob:
    """One setting: where it sits (``health.inter_s``), its flag, its type and range.

    ``low`` and ``high`` bound a number (``low_open``: ``low`` itself is out);
    ``choices`` bound a string; ``optional``: ``None`` is allowed (it means the
    record's own fallback, ``fastinter_s`` falling back to ``inter_s``).
    """

    path: str
    flag: str
    kind: type
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    optional: bool = False
    choices: tuple[str, ...] = ()
    repeat: bool = False  # a flag given once per value (a set of statuses)

    def value(self, settings: BalancerSettings) -> Any:
        target: Any = settings
        for part in self.path.split("."):
            target = getattr(target, part)
        return target

    def check(self, value: Any) -> None:
        if value is None and self.optional:
            return
        for one in value if self.repeat else (value,):
            self._check_one(one)

    def _check_one(self, value: Any) -> None:
        if self.kind is bool:
            if not isinstance(value, bool):
                raise self._bad(value, "must be true or false")
            return
        if self.kind is str:
            if not isinstance(value, str):
                raise self._bad(value, "must be a string")
            if self.choices and value not in self.choices:
                raise self._bad(value, f"must be one of: {', '.join(self.choices)}")
            return
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (self.kind is int and not isinstance(value, int)):
            raise self._bad(value, f"must be {'an integer' if self.kind is int else 'a number'}")
        if not math.isfinite(value):
            raise self._bad(value, "must be finite")
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and value > self.high
        if below or above:
            raise self._bad(value, f"must be {self.range}")

    @property
    def range(self) -> str:
        low = "" if self.low is None else f"{_number(self.low)}"
        if self.low is not None and self.high is not None:
            return f"{'above ' if self.low_open else ''}{low} to {_number(self.high)}"
        if self.low is not None:
            return f"{'above' if self.low_open else 'at least'} {low}"
        return f"at most {_number(self.high or 0)}" if self.high is not None else "any"

    def _bad(self, value: Any, why: str) -> ConfigError:
        return ConfigError(
            f"{self.flag} {value!r}: {why}", hint=f"{self.help}; see docs/lb.md's settings table"
        )


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _seconds(
    path: str, flag: str, help: str, *, zero: bool = False, optional: bool = False
) -> Knob:
    return Knob(path, flag, float, help, low=0.0, high=_DAY_S, low_open=not zero, optional=optional)


def _count(path: str, flag: str, help: str, low: int, high: int) -> Knob:
    return Knob(path, flag, int, help, low=low, high=high)


KNOBS: tuple[Knob, ...] = (
    Knob("policy", "--policy", str, "the balancing policy", choices=POLICIES),
    Knob("hash_header", "--hash-header", str, "the header consistent-hash keys on", optional=True),
    _count("ring_points_per_weight", "--ring-points", "ring points per unit of weight", 1, 10_000),
    _seconds("ewma_decay_s", "--ewma-decay-s", "the latency average's time constant"),
    _seconds(
        "ewma_default_rtt_s", "--ewma-default-rtt-s", "an unmeasured backend's latency", zero=True
    ),
    _seconds("health.inter_s", "--inter-s", "seconds between checks of a backend that is up"),
    _seconds(
        "health.fastinter_s",
        "--fastinter-s",
        "between checks while rising or falling",
        optional=True,
    ),
    _seconds("health.downinter_s", "--downinter-s", "between checks while down", optional=True),
    _seconds("health.timeout_s", "--check-timeout-s", "a check's timeout", optional=True),
    _count("health.rise", "--rise", "passes in a row that bring a backend up", 1, 1000),
    _count("health.fall", "--fall", "failures in a row that take a backend down", 1, 1000),
    _seconds(
        "health.slow_start_s", "--slow-start-s", "slow start after coming up (0: off)", zero=True
    ),
    Knob(
        "health.slow_start_min_factor",
        "--slow-start-min-factor",
        float,
        "the weight factor a slow start begins at",
        low=0.0,
        high=1.0,
        low_open=True,
    ),
    _seconds("health.drain_timeout_s", "--drain-timeout-s", "the longest a drain waits", zero=True),
    Knob(
        "init_state",
        "--init-state",
        str,
        "where the first backends' checks start",
        choices=tuple(InitState),
    ),
    Knob("check_path", "--check-path", str, "the path a health check GETs"),
    _count(
        "outliers.consecutive_5xx", "--consecutive-5xx", "5xx in a row that eject", 1, 1_000_000
    ),
    _count(
        "outliers.consecutive_gateway_failure",
        "--consecutive-gateway-failure",
        "gateway errors in a row that eject",
        1,
        1_000_000,
    ),
    _count(
        "outliers.consecutive_local_origin_failure",
        "--consecutive-local-origin-failure",
        "connection failures in a row that eject",
        1,
        1_000_000,
    ),
    _seconds("outliers.base_ejection_s", "--base-ejection-s", "the first ejection's length"),
    _seconds("outliers.max_ejection_s", "--max-ejection-s", "the longest ejection"),
    Knob(
        "outliers.max_ejection_percent",
        "--max-ejection-percent",
        float,
        "the largest share of backends ejected at once",
        low=0.0,
        high=100.0,
    ),
    Knob(
        "outliers.always_eject_one",
        "--always-eject-one",
        bool,
        "eject one backend even past the share",
    ),
    _seconds("outliers.interval_s", "--outlier-interval-s", "the ejection multiplier's decay step"),
    _count("retries.max_attempts", "--max-attempts", "attempts per request (1: no retry)", 1, 10),
    Knob(
        "retries.statuses",
        "--retry-status",
        int,
        "a status that is retried (repeat for more)",
        low=400,
        high=599,
        repeat=True,
    ),
    Knob("retries.retry_timeouts", "--retry-timeouts", bool, "retry timeouts and 504s too"),
    Knob(
        "budget.ratio",
        "--budget-ratio",
        float,
        "retries allowed per request (0.2: a fifth)",
        low=0.0,
        high=1.0,
    ),
    Knob(
        "budget.min_per_s",
        "--budget-min-per-s",
        float,
        "retries a second always allowed",
        low=0.0,
        high=1_000_000.0,
    ),
    _seconds("budget.ttl_s", "--budget-ttl-s", "the retry budget's window"),
    _seconds("connect_timeout_s", "--connect-timeout-s", "the connect timeout to a backend"),
    _seconds(
        "response_timeout_s", "--response-timeout-s", "to the response head, then between reads"
    ),
    _seconds("pool_idle_s", "--pool-idle-s", "how long a pooled connection may idle"),
    _count("pool_max_idle", "--pool-max-idle", "idle connections kept per backend", 0, 100_000),
    _count("replay_bytes", "--replay-bytes", "request bodies kept for a retry, up to", 0, _GIB),
    _count("limits.max_header_bytes", "--max-header-bytes", "the longest request head", 1024, _GIB),
    _count("limits.max_body_bytes", "--max-body-bytes", "the longest request body", 0, 64 * _GIB),
    _count("limits.max_target_bytes", "--max-target-bytes", "the longest request target", 1, _GIB),
    _count("limits.max_field_bytes", "--max-field-bytes", "the longest header field", 1, _GIB),
    _count("limits.max_fields", "--max-fields", "the most header fields", 1, 100_000),
    _seconds("limits.header_timeout_s", "--header-timeout-s", "the time a request head may take"),
    _seconds("limits.idle_timeout_s", "--idle-timeout-s", "client keep-alive idle, body stall"),
    _seconds(
        "shutdown_grace_s", "--shutdown-grace-s", "on SIGTERM, for requests in flight", zero=True
    ),
)
"""Every knob but ``private_paths`` (``--private-path``, repeatable, any strings)."""


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per knob, each defaulting to "not given" (the record's default stands)."""
    group = parser.add_argument_group("settings (docs/lb.md's settings table: defaults, sources)")
    for knob in KNOBS:
        dest = "knob_" + knob.path.replace(".", "__")
        if knob.kind is bool:
            group.add_argument(
                knob.flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=knob.help,
            )
            continue
        group.add_argument(
            knob.flag,
            dest=dest,
            type=_parser_of(knob),
            action="append" if knob.repeat else "store",
            default=None,
            metavar=knob.path.rsplit(".", 1)[-1].upper(),
            help=_help(knob),
        )
    group.add_argument(
        "--private-path",
        dest="knob_private_paths",
        action="append",
        default=None,
        help="answered 404 and never forwarded, however spelled (default: /metrics; "
        "repeat for more; '' forwards everything)",
    )


def _help(knob: Knob) -> str:
    if knob.choices:
        return f"{knob.help} ({', '.join(knob.choices)})"
    return knob.help if knob.kind is str else f"{knob.help} ({knob.range})"


def from_flags(args: argparse.Namespace) -> BalancerSettings:
    """The settings the flags in ``args`` (from :func:`add_flags`) give; ConfigError if bad."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for knob in (*KNOBS, Knob("private_paths", "--private-path", str, "")):
        value: Any = getattr(args, "knob_" + knob.path.replace(".", "__"), None)
        if value is None:
            continue
        if knob.repeat:
            value = frozenset(value)
        elif knob.path == "private_paths":
            value = tuple(value)
        elif knob.path == "init_state":
            knob.check(value)
            value = InitState(value)
        record, dot, name = knob.path.partition(".")
        if dot:
            nested.setdefault(record, {})[name] = value
        else:
            top[knob.path] = value
    return _build(top, nested)


def _build(top: dict[str, Any], nested: dict[str, dict[str, Any]]) -> BalancerSettings:
    """:class:`BalancerSettings` from fields and nested fields; a ConfigError if bad."""
    defaults = BalancerSettings()
    try:
        for record, fields in nested.items():
            for name, value in fields.items():
                _knob(f"{record}.{name}").check(value)
            top[record] = dataclasses.replace(getattr(defaults, record), **fields)
        return BalancerSettings(**top)
    except ValueError as error:
        raise ConfigError(
            f"bad settings: {error}", hint="see docs/lb.md's settings table"
        ) from None


def _knob(path: str) -> Knob:
    return next(k for k in KNOBS if k.path == path)


def _parser_of(knob: Knob) -> Any:
    if knob.kind is str:
        return str

    def parse(text: str) -> int | float:
        try:
            return int(text) if knob.kind is int else float(text)
        except ValueError:
            kind = "an integer" if knob.kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None

    return parse


def flags_of(knobs: Sequence[Knob] = KNOBS) -> list[str]:
    """Every knob's flag (and ``--private-path``): what docs/lb.md's table must list."""
    return [k.flag for k in knobs] + ["--private-path"]
