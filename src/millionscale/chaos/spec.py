"""The written form of faults: JSON for the admin API, ``key=value`` for the command line.

A fault spec is a JSON object. Link keys at the top apply to both
directions; an ``upstream`` or ``downstream`` object overrides them key by
key for one direction. Times are in milliseconds on the wire::

    {"latency_ms": 20, "jitter_ms": 5, "jitter": "normal",
     "downstream": {"latency_ms": 50, "bytes_per_s": 100000},
     "connect_delay_ms": 100, "reset_new": 0.05}

Link keys: ``latency_ms``, ``jitter_ms``, ``jitter`` (``uniform`` or
``normal``), ``bytes_per_s`` (``null``: no limit), ``burst_bytes``
(``null``: the default), ``stall_probability``, ``stall_ms``. Connection
keys: ``connect_delay_ms``, ``reset_new``. A key left out has its default
(no fault), so a spec says the whole state of the faults: applying one
replaces what was there.

On the command line the same keys come as ``--fault KEY=VALUE`` with dotted
paths for one direction: ``--fault downstream.latency_ms=50``.

A partition is ``{"new": "hang" | "refuse", "existing": "freeze" | "cut"}``.

Anything else raises :class:`~millionscale.errors.ConfigError` with a message
that names the key at fault; nothing else escapes these parsers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from millionscale.chaos.faults import (
    MAX_DELAY_S,
    STALL_S,
    Direction,
    Faults,
    Jitter,
    Link,
    NewConnections,
    OpenConnections,
    Partition,
)
from millionscale.errors import ConfigError

__all__ = [
    "CONNECTION_KEYS",
    "LINK_KEYS",
    "faults_to_json",
    "parse_assignments",
    "parse_faults",
    "parse_partition",
    "partition_to_json",
]

LINK_KEYS = (
    "latency_ms",
    "jitter_ms",
    "jitter",
    "bytes_per_s",
    "burst_bytes",
    "stall_probability",
    "stall_ms",
)
CONNECTION_KEYS = ("connect_delay_ms", "reset_new")
_DIRECTIONS = tuple(str(d) for d in Direction)
_HINT = "see docs/chaos.md for the fault keys"


def _fail(message: str, hint: str = _HINT) -> ConfigError:
    return ConfigError(message, hint=hint)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


def _unknown(data: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    known = tuple(known)
    for key in data:
        if key not in known:
            raise _fail(f"unknown key {str(key)[:40]!r} in {where} (known: {', '.join(known)})")


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{path} must be a number, not {_shown(value)}")
    number = float(value) if isinstance(value, float) else _int_as_float(value, path)
    if not math.isfinite(number):
        raise _fail(f"{path} must be a finite number, not {value!r}")
    return number


def _int_as_float(value: int, path: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise _fail(f"{path} is out of range: {str(value)[:20]}...") from None


def _shown(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else None
    return text[:40] if text is not None else type(value).__name__


def _milliseconds(value: object, path: str) -> float:
    """A delay in ms on the wire -> seconds, within what a record accepts."""
    number = _number(value, path)
    if not 0 <= number <= MAX_DELAY_S * 1000:
        raise _fail(
            f"{path} must be 0 to {MAX_DELAY_S * 1000:.0f}, not {value!r}",
            "times are in milliseconds; a longer outage is a partition",
        )
    return number / 1000


def _link(values: Mapping[str, Any], where: str) -> Link:
    def number(key: str, default: float) -> float:
        return _number(values[key], f"{where}{key}") if key in values else default

    def seconds(key: str, default: float) -> float:
        return _milliseconds(values[key], f"{where}{key}") if key in values else default

    jitter = values.get("jitter", str(Jitter.UNIFORM))
    if jitter not in tuple(str(j) for j in Jitter):
        raise _fail(f"{where}jitter must be 'uniform' or 'normal', not {_shown(jitter)}")
    rate = values.get("bytes_per_s")
    burst = values.get("burst_bytes")
    if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)):
        raise _fail(f"{where}burst_bytes must be a whole number of bytes, not {_shown(burst)}")
    try:
        return Link(
            latency_s=seconds("latency_ms", 0.0),
            jitter_s=seconds("jitter_ms", 0.0),
            jitter=Jitter(jitter),
            bytes_per_s=None if rate is None else _number(rate, f"{where}bytes_per_s"),
            burst_bytes=burst,
            stall_probability=number("stall_probability", 0.0),
            stall_s=seconds("stall_ms", STALL_S),
        )
    except ConfigError as error:
        raise _fail(f"{where}{error.message}", error.hint) from None


def parse_faults(spec: object) -> Faults:
    """A :class:`Faults` record from a decoded JSON fault spec (see the module's doc)."""
    data = _object(spec, "the fault spec")
    _unknown(data, (*LINK_KEYS, *CONNECTION_KEYS, *_DIRECTIONS), "the fault spec")
    shared = {k: v for k, v in data.items() if k in LINK_KEYS}
    links = {}
    for direction in _DIRECTIONS:
        own = _object(data.get(direction, {}), direction)
        _unknown(own, LINK_KEYS, direction)
        links[direction] = _link({**shared, **own}, f"{direction}." if own else "")
    connect = data.get("connect_delay_ms", 0.0)
    reset = data.get("reset_new", 0.0)
    try:
        return Faults(
            upstream=links[Direction.UPSTREAM],
            downstream=links[Direction.DOWNSTREAM],
            connect_delay_s=_milliseconds(connect, "connect_delay_ms"),
            reset_new=_number(reset, "reset_new"),
        )
    except ConfigError as error:
        raise _fail(error.message, error.hint) from None


def _link_to_json(link: Link) -> dict[str, Any]:
    return {
        "latency_ms": link.latency_s * 1000,
        "jitter_ms": link.jitter_s * 1000,
        "jitter": str(link.jitter),
        "bytes_per_s": link.bytes_per_s,
        "burst_bytes": link.burst_bytes,
        "stall_probability": link.stall_probability,
        "stall_ms": link.stall_s * 1000,
    }


def faults_to_json(faults: Faults) -> dict[str, Any]:
    """The spec that :func:`parse_faults` reads back as ``faults``."""
    return {
        "upstream": _link_to_json(faults.upstream),
        "downstream": _link_to_json(faults.downstream),
        "connect_delay_ms": faults.connect_delay_s * 1000,
        "reset_new": faults.reset_new,
    }


def parse_partition(spec: object) -> Partition:
    """A :class:`Partition` from ``{"new": ..., "existing": ...}`` (both optional)."""
    data = _object(spec, "the partition")
    _unknown(data, ("new", "existing"), "the partition")
    new = data.get("new", str(NewConnections.HANG))
    existing = data.get("existing", str(OpenConnections.FREEZE))
    if new not in tuple(str(n) for n in NewConnections):
        raise _fail(f"new must be 'hang' or 'refuse', not {_shown(new)}")
    if existing not in tuple(str(e) for e in OpenConnections):
        raise _fail(f"existing must be 'freeze' or 'cut', not {_shown(existing)}")
    return Partition(NewConnections(new), OpenConnections(existing))


def partition_to_json(partition: Partition | None) -> dict[str, str] | None:
    if partition is None:
        return None
    return {"new": str(partition.new), "existing": str(partition.existing)}


def _value(text: str) -> object:
    """A number or ``null`` as JSON reads it; anything else stays text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, int | float) else text


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """``["latency_ms=50", "downstream.bytes_per_s=1e5"]`` -> the JSON spec they spell."""
    spec: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        path = key.strip().split(".")
        if not sep or not all(path) or len(path) > 2:
            raise _fail(
                f"{assignment[:60]!r} is not KEY=VALUE",
                "write e.g. latency_ms=50 or downstream.bytes_per_s=100000",
            )
        if len(path) == 2:
            direction, name = path
            if direction not in _DIRECTIONS:
                raise _fail(f"{direction[:40]!r} is not a direction (upstream, downstream)")
            spec.setdefault(direction, {})[name] = _value(text.strip())
        else:
            if path[0] in _DIRECTIONS:
                raise _fail(f"{path[0]} needs a key: write {path[0]}.latency_ms=50")
            spec[path[0]] = _value(text.strip())
    return spec
