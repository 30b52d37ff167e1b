"""What an estimate starts from: users, traffic, sizes, retention, and per-node capacities.

:data:`FIELDS` is the one table of every input: its name, the scenario-file
table and key it is written under, how it is parsed (a count, a fraction, a
size or a duration), its bounds, its default and where the default comes from.
Scenario files, command-line flags and :class:`Inputs` itself all check values
against it, so a bound is written once.

Users are given either as ``dau`` or as ``mau`` with a ``daily_active_fraction``;
never both. Every other input has a default, and every default is an
assumption whose source is stated here and printed beside the result.

Per-node capacities say how much one node of each tier carries. Unless a
calibration file (``--calibrate``) supplies a figure measured here, they are
assumptions; :attr:`Inputs.measured` names the ones that were measured and how.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from millionscale.errors import ConfigError
from millionscale.estimate.derivation import Unit
from millionscale.estimate.units import (
    COUNT_FORMS,
    DURATION_FORMS,
    FRACTION_FORMS,
    SECONDS_PER_YEAR,
    SIZE_FORMS,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_size,
)

__all__ = ["CAPACITY_FIELDS", "FIELDS", "FIELDS_BY_NAME", "InputField", "Inputs", "Kind"]


class Kind(enum.Enum):
    """How an input is written: which parser reads it and which forms it accepts."""

    COUNT = "count"
    FRACTION = "fraction"
    SIZE = "size"
    DURATION = "duration"


_PARSERS: dict[Kind, tuple[Callable[[object], float], str]] = {
    Kind.COUNT: (parse_count, COUNT_FORMS),
    Kind.FRACTION: (parse_fraction, FRACTION_FORMS),
    Kind.SIZE: (parse_size, SIZE_FORMS),
    Kind.DURATION: (parse_duration, DURATION_FORMS),
}


@dataclass(frozen=True, slots=True)
class InputField:
    """One input: where it is written, how it is read, its bounds and its default."""

    name: str
    section: str
    key: str
    kind: Kind
    unit: Unit
    title: str
    default: float | None
    source: str
    minimum: float = 0.0
    strictly_above: bool = False
    capacity: bool = False

    @property
    def flag(self) -> str:
        """The command-line flag that sets it, e.g. ``--writes-per-user``."""
        return "--" + self.name.replace("_", "-")

    @property
    def forms(self) -> str:
        """The accepted forms, for error hints."""
        return _PARSERS[self.kind][1]

    def parse(self, raw: object) -> float:
        """Read ``raw`` (text or a number) and check its bounds; raise ConfigError."""
        value = _PARSERS[self.kind][0](raw)
        self.check(value)
        return value

    def check(self, value: float) -> None:
        """Raise ConfigError unless ``value`` is within this field's bounds."""
        low = self.minimum
        if self.strictly_above and not value > low:
            raise ConfigError(
                f"must be greater than {low:g}, got {value:g}", hint=f"accepted: {self.forms}"
            )
        if not self.strictly_above and not value >= low:
            raise ConfigError(
                f"must be at least {low:g}, got {value:g}", hint=f"accepted: {self.forms}"
            )


_ASSUMED = "assumed"
FIELDS: tuple[InputField, ...] = (
    InputField(
        "dau", "users", "dau", Kind.COUNT, Unit.USERS, "daily active users", None,
        "required unless mau is given", strictly_above=True,
    ),
    InputField(
        "mau", "users", "mau", Kind.COUNT, Unit.USERS, "monthly active users", None,
        "required unless dau is given", strictly_above=True,
    ),
    InputField(
        "daily_active_fraction", "users", "daily_active_fraction", Kind.FRACTION, Unit.RATIO,
        "share of monthly users active on a day", None, "required with mau",
        strictly_above=True,
    ),
    InputField(
        "writes_per_user", "traffic", "writes_per_user", Kind.COUNT, Unit.PER_DAY,
        "writes per daily user per day", 2.0,
        "Xu (2020) ch. 2: 2 tweets per user per day", strictly_above=True,
    ),
    InputField(
        "reads_per_write", "traffic", "reads_per_write", Kind.COUNT, Unit.RATIO,
        "reads per write", 10.0,
        f"{_ASSUMED}: read-heavy (Twitter timelines ~50, Krikorian 2012; TinyURL 100, Grokking)",
    ),
    InputField(
        "peak_factor", "traffic", "peak_factor", Kind.COUNT, Unit.RATIO,
        "peak over average traffic", 2.0, "Xu (2020) ch. 2: peak QPS = 2 * QPS", minimum=1.0,
    ),
    InputField(
        "jobs_per_write", "traffic", "jobs_per_write", Kind.COUNT, Unit.RATIO,
        "queued jobs per write", 1.0,
        f"{_ASSUMED}: one background job (fan-out, thumbnail) per write",
    ),
    InputField(
        "text_size", "storage", "text_size", Kind.SIZE, Unit.BYTES,
        "text and metadata per write", 1000.0, f"{_ASSUMED}: one row of about 1 KB",
    ),
    InputField(
        "media_fraction", "storage", "media_fraction", Kind.FRACTION, Unit.RATIO,
        "share of writes carrying media", 0.0, f"{_ASSUMED}: text only",
    ),
    InputField(
        "media_size", "storage", "media_size", Kind.SIZE, Unit.BYTES, "size of one media file",
        1e6, "Xu (2020) ch. 2: media 1 MB",
    ),
    InputField(
        "retention", "storage", "retention", Kind.DURATION, Unit.SECONDS,
        "how long data is kept", 5.0 * SECONDS_PER_YEAR,
        "Xu (2020) ch. 2: data is stored for 5 years", strictly_above=True,
    ),
    InputField(
        "replication", "storage", "replication", Kind.COUNT, Unit.RATIO,
        "copies of every byte", 3.0,
        "three replicas, the default of GFS (Ghemawat et al. 2003) and HDFS", minimum=1.0,
    ),
    InputField(
        "cache_hot_fraction", "cache", "hot_fraction", Kind.FRACTION, Unit.RATIO,
        "share of a day's reads worth caching", 0.2,
        "the 80/20 rule: 20% of items get 80% of reads (Grokking, TinyURL)",
    ),
    InputField(
        "cache_hit_ratio", "cache", "hit_ratio", Kind.FRACTION, Unit.RATIO,
        "share of reads the cache answers", 0.8, "the 80/20 rule: the hot 20% serve 80% of reads",
    ),
    InputField(
        "web_rps", "capacity", "web_rps", Kind.COUNT, Unit.REQ_PER_S,
        "requests/s one web server carries", 1000.0,
        f"{_ASSUMED}: a round figure for one app server; our photo app measures ~300/s "
        "per process (docs/photos.md), use --calibrate",
        strictly_above=True, capacity=True,
    ),
    InputField(
        "db_replica_rps", "capacity", "db_replica_rps", Kind.COUNT, Unit.REQ_PER_S,
        "reads/s one database replica carries", 5000.0,
        f"{_ASSUMED}: indexed point reads on one PostgreSQL replica",
        strictly_above=True, capacity=True,
    ),
    InputField(
        "shard_write_rps", "capacity", "shard_write_rps", Kind.COUNT, Unit.REQ_PER_S,
        "writes/s one shard primary carries", 1000.0,
        f"{_ASSUMED}: durable (fsync'd) row writes on one PostgreSQL primary",
        strictly_above=True, capacity=True,
    ),
    InputField(
        "shard_storage", "capacity", "shard_storage", Kind.SIZE, Unit.BYTES,
        "text data one shard primary holds", 1e12,
        f"{_ASSUMED}: 1 TB, small enough to rebuild a replica in hours",
        strictly_above=True, capacity=True,
    ),
    InputField(
        "cache_node_rps", "capacity", "cache_node_rps", Kind.COUNT, Unit.REQ_PER_S,
        "requests/s one cache node carries", 100_000.0,
        f"{_ASSUMED}: the order of redis-benchmark GET/SET figures, one Redis, no pipelining",
        strictly_above=True, capacity=True,
    ),
    InputField(
        "cache_node_memory", "capacity", "cache_node_memory", Kind.SIZE, Unit.BYTES,
        "memory one cache node holds", 64e9, f"{_ASSUMED}: 64 GB usable per cache node",
        strictly_above=True, capacity=True,
    ),
    InputField(
        "worker_jobs_per_s", "capacity", "worker_jobs_per_s", Kind.COUNT, Unit.JOBS_PER_S,
        "jobs/s one queue worker carries", 10.0,
        f"{_ASSUMED}: about 100 ms of work per job",
        strictly_above=True, capacity=True,
    ),
)  # fmt: skip

FIELDS_BY_NAME: Mapping[str, InputField] = {f.name: f for f in FIELDS}
CAPACITY_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.capacity)


def _default(name: str) -> float:
    value = FIELDS_BY_NAME[name].default
    assert value is not None
    return value


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything an estimate needs; checked when made.

    Exactly one of ``dau`` and ``mau`` is set; with ``mau``,
    ``daily_active_fraction`` is set too. Sizes are bytes, ``retention`` is
    seconds, rates are per second. ``measured`` maps a capacity field to how it
    was measured here; capacities not in it are assumed.
    """

    dau: float | None = None
    mau: float | None = None
    daily_active_fraction: float | None = None
    writes_per_user: float = _default("writes_per_user")
    reads_per_write: float = _default("reads_per_write")
    peak_factor: float = _default("peak_factor")
    jobs_per_write: float = _default("jobs_per_write")
    text_size: float = _default("text_size")
    media_fraction: float = _default("media_fraction")
    media_size: float = _default("media_size")
    retention: float = _default("retention")
    replication: float = _default("replication")
    cache_hot_fraction: float = _default("cache_hot_fraction")
    cache_hit_ratio: float = _default("cache_hit_ratio")
    web_rps: float = _default("web_rps")
    db_replica_rps: float = _default("db_replica_rps")
    shard_write_rps: float = _default("shard_write_rps")
    shard_storage: float = _default("shard_storage")
    cache_node_rps: float = _default("cache_node_rps")
    cache_node_memory: float = _default("cache_node_memory")
    worker_jobs_per_s: float = _default("worker_jobs_per_s")
    measured: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dau is None and self.mau is None:
            raise ConfigError(
                "no users given",
                hint="give daily active users (dau, --dau 1M) or monthly ones with the "
                "daily active fraction (mau and daily_active_fraction, --mau 300M "
                "--daily-active-fraction 0.5)",
            )
        if self.dau is not None and self.mau is not None:
            raise ConfigError("both dau and mau given", hint="give one of them")
        if self.mau is not None and self.daily_active_fraction is None:
            raise ConfigError(
                "mau given without daily_active_fraction",
                hint=f"say which share of monthly users is active on a day: {FRACTION_FORMS}",
            )
        for f in FIELDS:
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.kind is Kind.FRACTION and not 0.0 <= value <= 1.0:
                raise ConfigError(
                    f"{f.name}: {value:g} is outside [0, 1]", hint=f"accepted: {f.forms}"
                )
            try:
                f.check(value)
            except ConfigError as error:
                raise ConfigError(f"{f.name}: {error.message}", hint=error.hint) from None
        unknown = set(self.measured) - set(CAPACITY_FIELDS)
        if unknown:
            raise ConfigError(
                f"measured: not capacities: {', '.join(sorted(unknown))}",
                hint=f"capacities are {', '.join(CAPACITY_FIELDS)}",
            )

    def given(self) -> dict[str, float]:
        """Every input that has a value, by name (``measured`` aside)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "measured" and getattr(self, f.name) is not None
        }
