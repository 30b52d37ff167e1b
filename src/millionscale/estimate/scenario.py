"""Scenario files: a system's inputs as TOML, and command-line flags that override them.

A scenario file has an optional ``name``, ``description`` and ``source`` (where
its numbers come from) and five optional tables; every key is optional and
falls back to its default (see :data:`~millionscale.estimate.inputs.FIELDS`)::

    name = "twitter"
    [users]       dau | mau + daily_active_fraction
    [traffic]     writes_per_user, reads_per_write, peak_factor, jobs_per_write
    [storage]     text_size, media_fraction, media_size, retention, replication
    [cache]       hot_fraction, hit_ratio
    [capacity]    web_rps, db_replica_rps, shard_write_rps, shard_storage,
                  cache_node_rps, cache_node_memory, worker_jobs_per_s

Values are numbers or text with units (``"150M"``, ``"1.5TB"``, ``"5y"``,
``"50%"``). Every problem is one :class:`~millionscale.errors.ConfigError`
naming the file, the line and the key, with the accepted forms as its hint::

    scenarios/x.toml:9: storage.media_size: unknown size unit 'parsecs' in '5 parsecs'
    (accepted: a size such as 140B, 1.5TB or 500KiB: ...)

:func:`resolve_inputs` merges a scenario, flags and a calibration into
:class:`~millionscale.estimate.inputs.Inputs`: flags beat the file, and a
calibration beats both for the capacities it measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from millionscale import tomlfile
from millionscale.errors import ConfigError
from millionscale.estimate.calibration import Calibration
from millionscale.estimate.inputs import FIELDS, FIELDS_BY_NAME, InputField, Inputs
from millionscale.tomlfile import FieldError, line_of

__all__ = [
    "Resolved",
    "Scenario",
    "load_scenario",
    "parse_flags",
    "parse_scenario",
    "resolve_inputs",
]

_BY_KEY: dict[tuple[str, str], InputField] = {(f.section, f.key): f for f in FIELDS}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    SECTION: ClassVar[str] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _parse(cls, value: object, info: ValidationInfo) -> object:
        spec = _BY_KEY[(cls.SECTION, str(info.field_name))]
        try:
            return spec.parse(value)
        except ConfigError as error:
            raise FieldError(error.message, error.hint) from None


class Users(_Section):
    """``[users]``: give ``dau``, or ``mau`` and ``daily_active_fraction``."""

    SECTION: ClassVar[str] = "users"
    dau: float | None = None
    mau: float | None = None
    daily_active_fraction: float | None = None


class Traffic(_Section):
    """``[traffic]``: how often users write and read."""

    SECTION: ClassVar[str] = "traffic"
    writes_per_user: float | None = None
    reads_per_write: float | None = None
    peak_factor: float | None = None
    jobs_per_write: float | None = None


class Storage(_Section):
    """``[storage]``: what a write stores, for how long, in how many copies."""

    SECTION: ClassVar[str] = "storage"
    text_size: float | None = None
    media_fraction: float | None = None
    media_size: float | None = None
    retention: float | None = None
    replication: float | None = None


class Cache(_Section):
    """``[cache]``: the hot set (80/20 rule)."""

    SECTION: ClassVar[str] = "cache"
    hot_fraction: float | None = None
    hit_ratio: float | None = None


class Capacity(_Section):
    """``[capacity]``: what one node of each tier carries (assumed unless calibrated)."""

    SECTION: ClassVar[str] = "capacity"
    web_rps: float | None = None
    db_replica_rps: float | None = None
    shard_write_rps: float | None = None
    shard_storage: float | None = None
    cache_node_rps: float | None = None
    cache_node_memory: float | None = None
    worker_jobs_per_s: float | None = None


class Scenario(BaseModel):
    """A scenario file, parsed: every value already in bytes, seconds or a plain number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str | None = None
    source: str | None = None
    users: Users = Users()
    traffic: Traffic = Traffic()
    storage: Storage = Storage()
    cache: Cache = Cache()
    capacity: Capacity = Capacity()

    def values(self) -> dict[str, float]:
        """The inputs this file sets, by input name (``cache.hot_fraction`` is
        ``cache_hot_fraction``)."""
        out: dict[str, float] = {}
        for f in FIELDS:
            section = getattr(self, f.section)
            value = getattr(section, f.key)
            if value is not None:
                out[f.name] = value
        return out


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and check scenario text; raise ConfigError naming ``source``, line and key."""
    scenario = tomlfile.parse(text, Scenario, source=source)
    users = scenario.users
    if users.dau is not None and users.mau is not None:
        line = line_of(text, ("users", "mau"))
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: users: both dau and mau given", hint="give one of them")
    if users.mau is not None and users.daily_active_fraction is None:
        line = line_of(text, ("users", "mau"))
        where = f"{source}:{line}" if line else source
        raise ConfigError(
            f"{where}: users.daily_active_fraction: missing (mau needs it)",
            hint="add daily_active_fraction = 0.5 (or the share of monthly users active on a day)",
        )
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and check the scenario file at ``path``."""
    text = tomlfile.read(path, what="scenario", example="scenarios/twitter.toml")
    scenario = parse_scenario(text, str(path))
    if scenario.name is None:
        scenario = scenario.model_copy(update={"name": path.stem})
    return scenario


@dataclass(frozen=True, slots=True)
class Resolved:
    """Inputs ready to estimate, and where each came from (``file``, ``flag``, ``default``,
    or ``measured``)."""

    inputs: Inputs
    origin: Mapping[str, str] = field(default_factory=dict)


def parse_flags(flags: Mapping[str, str | None]) -> dict[str, float]:
    """Command-line overrides (input name → text, None when not given), parsed.

    An error names the flag: ``--dau: must be greater than 0, got -5``.
    """
    out: dict[str, float] = {}
    for name, raw in flags.items():
        if raw is None:
            continue
        spec = FIELDS_BY_NAME[name]
        try:
            out[name] = spec.parse(raw)
        except ConfigError as error:
            raise ConfigError(f"{spec.flag}: {error.message}", hint=error.hint) from None
    return out


def resolve_inputs(
    scenario: Scenario | None,
    flags: Mapping[str, float],
    calibration: Calibration | None = None,
) -> Resolved:
    """Merge file values, parsed flag values and measured capacities into Inputs.

    Flags beat the file. ``--dau`` replaces the file's ``mau`` (and ``--mau``
    its ``dau``); giving both flags is an error. Measured capacities beat both.
    """
    values = scenario.values() if scenario is not None else {}
    origin = dict.fromkeys(values, "file")
    if "dau" in flags and "mau" in flags:
        raise ConfigError("--dau and --mau: both given", hint="give one of them")
    if "dau" in flags:
        values.pop("mau", None)
    if "mau" in flags:
        values.pop("dau", None)
    values.update(flags)
    origin.update(dict.fromkeys(flags, "flag"))
    measured: dict[str, str] = {}
    if calibration is not None:
        values.update(calibration.capacities)
        origin.update(dict.fromkeys(calibration.capacities, "measured"))
        measured = dict(calibration.notes)
    if "mau" not in values:
        values.pop("daily_active_fraction", None)  # only meaningful with mau
    inputs = Inputs(**values, measured=measured)
    for f in FIELDS:
        if getattr(inputs, f.name) is not None:
            origin.setdefault(f.name, "default")
    return Resolved(inputs, origin)
