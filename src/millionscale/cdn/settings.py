"""Every knob of one edge, in one frozen record, and the command-line flags for them.

:class:`EdgeSettings` gathers what the edge's shell needs (the origin, the
store's budgets, the origin client's timeouts and pool, the client side's HTTP
limits) and the pure rules' own :class:`~millionscale.cdn.RulesSettings`
knobs the edge exposes (``--stale-if-error``). Each default is a module
constant with its source. :data:`KNOBS` is the one table of the flags: a
value out of range is a :class:`~millionscale.errors.ConfigError` naming the
flag, and ``python -m millionscale.cdn`` turns it into one line and exit 2.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from millionscale.errors import ConfigError
from millionscale.estimate.units import parse_size
from millionscale.lb.limits import HttpLimits

__all__ = [
    "CONNECT_TIMEOUT_S",
    "HIT_FOR_MISS_S",
    "KNOBS",
    "MAX_CONNECTIONS",
    "MAX_OBJECT_BYTES",
    "MEMORY_BYTES",
    "READ_TIMEOUT_S",
    "SHUTDOWN_GRACE_S",
    "EdgeKnob",
    "EdgeSettings",
    "add_flags",
    "from_flags",
]

_MIB = 1 << 20
# Varnish's `-s malloc` examples and nginx proxy_cache's keys_zone guides use a few
# hundred MiB for a small edge; ours: 256 MiB, the store's memory budget.
MEMORY_BYTES = 256 * _MIB
# Ours: the photo app's uploads are at most 10 MiB; a bigger object is streamed, not stored.
MAX_OBJECT_BYTES = 16 * _MIB
# A connect on a LAN takes well under a millisecond; 2 s already means the origin is gone.
CONNECT_TIMEOUT_S = 2.0
# Between reads of the origin's answer; nginx's proxy_read_timeout is 60 s, Varnish's
# between_bytes_timeout 60 s; an edge that falls back to stale wants to know sooner.
READ_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 100  # httpx's default pool limit (max_connections=100)
# Varnish's builtin.vcl: an uncacheable response makes a hit-for-miss object for 120 s
# ("set beresp.ttl = 120s; set beresp.uncacheable = true"), so later misses do not queue.
HIT_FOR_MISS_S = 120.0
SHUTDOWN_GRACE_S = 5.0  # as the balancer's: requests in flight get this long on SIGTERM

_DAY_S = 86_400.0
_TIB = 1 << 40


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """How one edge caches, fetches from its origin and serves its clients.

    ``origin`` is a base URL (``http://host:port``); an edge behind a shield
    names the shield. ``keep_surrogate_keys`` (a shield's setting) forwards the
    ``Surrogate-Key`` field, so the edges below can purge by tag; an edge
    facing users strips it. ``stale_if_error_s`` is the edge's grace when a
    response gives no ``stale-if-error`` (RFC 5861 §4; Varnish's grace).
    """

    origin: str = "http://127.0.0.1:8000"
    name: str = "edge"
    memory_bytes: int = MEMORY_BYTES
    disk_bytes: int = 0
    spill_dir: Path | None = None
    policy: str = "w-tinylfu"
    max_object_bytes: int = MAX_OBJECT_BYTES
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    read_timeout_s: float = READ_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    stale_if_error_s: float = 0.0
    hit_for_miss_s: float = HIT_FOR_MISS_S
    keep_surrogate_keys: bool = False
    limits: HttpLimits = field(default_factory=HttpLimits)
    shutdown_grace_s: float = SHUTDOWN_GRACE_S

    def __post_init__(self) -> None:
        for knob in KNOBS:
            knob.check(getattr(self, knob.name))
        parts = urlsplit(self.origin)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ConfigError(
                f"--origin {self.origin!r} is not http://host:port",
                hint="give the origin's (or the shield's) base URL, such as http://127.0.0.1:8000",
            )
        if self.disk_bytes and self.spill_dir is None:
            raise ConfigError("--disk needs --spill-dir", hint="name a directory for spill files")

    @property
    def origin_host(self) -> bytes:
        """The origin's ``host[:port]``: what a request without ``Host`` is keyed by."""
        return (urlsplit(self.origin).netloc or "").lower().encode()


@dataclass(frozen=True, slots=True)
class EdgeKnob:
    """One flag: the record field it sets, its type and range."""

    name: str
    flag: str
    kind: type
    help: str
    low: float = 0.0
    high: float = math.inf
    size: bool = False  # accepts 256MiB, 1GiB (parse_size)

    def check(self, value: Any) -> None:
        if self.kind is bool or self.kind is str:
            if not isinstance(value, self.kind):
                raise ConfigError(f"{self.flag} {value!r}: must be a {self.kind.__name__}")
            return
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (self.kind is int and not isinstance(value, int)):
            raise ConfigError(f"{self.flag} {value!r}: must be a number", hint=self.help)
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ConfigError(
                f"{self.flag} {value!r}: must be {self.low:g} to {self.high:g}", hint=self.help
            )

    def parse(self, text: str) -> Any:
        try:
            if self.size:
                return int(parse_size(text))
            return int(text) if self.kind is int else float(text)
        except (ValueError, ConfigError):
            forms = "a size such as 256MiB" if self.size else f"a {self.kind.__name__}"
            raise argparse.ArgumentTypeError(f"{text!r} is not {forms}") from None


KNOBS: tuple[EdgeKnob, ...] = (
    EdgeKnob("name", "--name", str, "the edge's name (logs, Via, metrics)"),
    EdgeKnob("memory_bytes", "--memory", int, "the store's memory budget", 1, _TIB, size=True),
    EdgeKnob("disk_bytes", "--disk", int, "the spill files' budget (0: none)", 0, _TIB, size=True),
    EdgeKnob("policy", "--policy", str, "the eviction policy (w-tinylfu, lru, lfu)"),
    EdgeKnob(
        "max_object_bytes", "--max-object", int, "larger is streamed, not stored", 1, _TIB, True
    ),
    EdgeKnob("connect_timeout_s", "--connect-timeout-s", float, "to the origin", 0.001, _DAY_S),
    EdgeKnob("read_timeout_s", "--read-timeout-s", float, "between origin reads", 0.001, _DAY_S),
    EdgeKnob("max_connections", "--max-connections", int, "to the origin", 1, 100_000),
    EdgeKnob("stale_if_error_s", "--stale-if-error", float, "default grace on errors", 0, _DAY_S),
    EdgeKnob("hit_for_miss_s", "--hit-for-miss-s", float, "uncacheable key memory", 0, _DAY_S),
    EdgeKnob("keep_surrogate_keys", "--keep-surrogate-keys", bool, "forward Surrogate-Key"),
    EdgeKnob("shutdown_grace_s", "--shutdown-grace-s", float, "on SIGTERM", 0, _DAY_S),
)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """``--origin``, ``--spill-dir`` and one flag per knob (not given: the default stands)."""
    parser.add_argument("--origin", required=True, help="http://HOST:PORT (an origin or a shield)")
    parser.add_argument("--spill-dir", type=Path, default=None)
    group = parser.add_argument_group("settings")
    for knob in KNOBS:
        dest = "knob_" + knob.name
        if knob.kind is bool:
            group.add_argument(knob.flag, dest=dest, action="store_true", default=None)
        elif knob.kind is str:
            group.add_argument(knob.flag, dest=dest, default=None, help=knob.help)
        else:
            group.add_argument(knob.flag, dest=dest, type=knob.parse, default=None, help=knob.help)


def from_flags(args: argparse.Namespace) -> EdgeSettings:
    """The settings the flags of :func:`add_flags` give; ConfigError if bad."""
    given: dict[str, Any] = {"origin": args.origin, "spill_dir": args.spill_dir}
    for knob in KNOBS:
        value = getattr(args, "knob_" + knob.name, None)
        if value is not None:
            given[knob.name] = value
    return EdgeSettings(**given)
