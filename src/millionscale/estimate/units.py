"""Units of the estimator: the powers-of-two table, and parsing and formatting of
sizes, counts, durations and fractions.

Decimal (SI) units are the default: ``1 KB = 1000 B``, ``1 MB = 10**6 B``. The
published back-of-the-envelope estimates we reproduce do their arithmetic that
way (``150 million * 2 * 10% * 1 MB = 30 TB``), and so do disk vendors and
network link speeds. Binary (IEC) units, ``1 KiB = 1024 B``, are what memory
and most operating-system tools count in; ``UnitSystem.BINARY`` (the
``--binary`` flag) formats every size in them.

Parsing is unambiguous whatever the display system: ``KB`` always means 1000
bytes and ``KiB`` always means 1024; unit letters are not case-sensitive
(``kb`` is ``KB``, ``kib`` is ``KiB``). Every function that parses raises
:class:`~millionscale.errors.ConfigError` whose message says what is wrong with
the text and whose hint lists the accepted forms; callers prefix the name of
the field.

Formatting keeps ``digits`` significant digits (4 by default), so
``parse(format(x))`` is within half a unit in the last shown digit of ``x``.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass

from millionscale.errors import ConfigError

__all__ = [
    "COUNT_FORMS",
    "DURATION_FORMS",
    "FRACTION_FORMS",
    "POWERS_OF_TWO",
    "SECONDS_PER_DAY",
    "SECONDS_PER_YEAR",
    "SIZE_FORMS",
    "PowerOfTwo",
    "UnitSystem",
    "format_bits_per_s",
    "format_count",
    "format_duration",
    "format_exact",
    "format_latency",
    "format_size",
    "parse_count",
    "parse_duration",
    "parse_fraction",
    "parse_size",
]


class UnitSystem(enum.Enum):
    """How sizes are shown: powers of 1000 (KB, MB, ...) or of 1024 (KiB, MiB, ...)."""

    DECIMAL = "decimal"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class PowerOfTwo:
    """One row of the powers-of-two table: 2**power bytes and its approximate names."""

    power: int
    approximate: str  # the round decimal number it is close to
    name: str
    decimal_unit: str  # what the napkin calls it
    binary_unit: str  # what it exactly is

    @property
    def exact(self) -> int:
        """The exact number of bytes, 2**power."""
        return 1 << self.power


# Alex Xu, "System Design Interview - An Insider's Guide" (2020), chapter 2,
# Table 2-1 "Data volume unit"; the IEC binary names are IEC 80000-13.
POWERS_OF_TWO: tuple[PowerOfTwo, ...] = (
    PowerOfTwo(10, "1 thousand", "kilobyte", "KB", "KiB"),
    PowerOfTwo(20, "1 million", "megabyte", "MB", "MiB"),
    PowerOfTwo(30, "1 billion", "gigabyte", "GB", "GiB"),
    PowerOfTwo(40, "1 trillion", "terabyte", "TB", "TiB"),
    PowerOfTwo(50, "1 quadrillion", "petabyte", "PB", "PiB"),
)

SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY  # a year is 365 days, as in Xu's "30 TB * 365 * 5"

_PREFIXES = "KMGTPE"
_DECIMAL_SIZES: dict[str, int] = {"b": 1} | {
    f"{p.lower()}b": 1000 ** (i + 1) for i, p in enumerate(_PREFIXES)
}
_BINARY_SIZES: dict[str, int] = {f"{p.lower()}ib": 1024 ** (i + 1) for i, p in enumerate(_PREFIXES)}
_SIZE_WORDS: dict[str, int] = {"": 1, "byte": 1, "bytes": 1}
_SIZES = _DECIMAL_SIZES | _BINARY_SIZES | _SIZE_WORDS

_COUNTS: dict[str, float] = {
    "": 1.0,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "trillion": 1e12,
}

_DURATIONS: dict[str, float] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), float(SECONDS_PER_DAY)),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 7.0 * SECONDS_PER_DAY),
    **dict.fromkeys(("mo", "month", "months"), 30.0 * SECONDS_PER_DAY),  # Grokking's 30-day month
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), float(SECONDS_PER_YEAR)),
}

SIZE_FORMS = (
    "a size such as 140B, 1.5TB or 500KiB: B, KB, MB, GB, TB, PB, EB are powers of 1000; "
    "KiB, MiB, GiB, TiB, PiB, EiB powers of 1024; a bare number is bytes"
)
COUNT_FORMS = (
    "a number such as 1500000, 1,500,000, 150M, 2B or 2.5K "
    "(K thousand, M million, B billion, T trillion)"
)
DURATION_FORMS = (
    "a duration such as 5y, 30d, 12h or 90s (s, min, h, d, w, mo = 30 days, y = 365 days)"
)
FRACTION_FORMS = "a fraction from 0 to 1, such as 0.5 or 50%"

# A number: digits with optional thousands commas or underscores, a fraction,
# an exponent; then an optional unit of letters (or %).
_QUANTITY = re.compile(
    r"""^\s*
    (?P<number>[+-]?(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)(?:\.\d*)?(?:[eE][+-]?\d+)?
              |[+-]?\.\d+(?:[eE][+-]?\d+)?)
    \s*(?P<unit>[A-Za-z%]*)\s*$""",
    re.VERBOSE,
)


def _split(raw: object, forms: str) -> tuple[float, str]:
    """``raw`` (a number, or text) as (number, unit text); raise with ``forms`` as the hint."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ConfigError(f"expected a number or text, got {raw!r}", hint=f"accepted: {forms}")
    if isinstance(raw, int | float):
        value, unit = float(raw), ""
    else:
        found = _QUANTITY.match(raw)
        if found is None:
            raise ConfigError(f"cannot read {raw!r}", hint=f"accepted: {forms}")
        value = float(found["number"].replace(",", "").replace("_", ""))
        unit = found["unit"]
    if not math.isfinite(value):
        raise ConfigError(f"{raw!r} is not a finite number", hint=f"accepted: {forms}")
    return value, unit


def parse_size(raw: object) -> float:
    """Bytes in ``raw``: ``1.5TB`` is 1.5e12, ``500KiB`` is 512000, ``140`` is 140."""
    value, unit = _split(raw, SIZE_FORMS)
    factor = _SIZES.get(unit.lower())
    if factor is None:
        raise ConfigError(f"unknown size unit {unit!r} in {raw!r}", hint=f"accepted: {SIZE_FORMS}")
    return value * factor


def parse_count(raw: object) -> float:
    """A count in ``raw``: ``150M`` is 1.5e8, ``2B`` is 2e9, ``1,500`` is 1500."""
    value, unit = _split(raw, COUNT_FORMS)
    factor = _COUNTS.get(unit.lower())
    if factor is None:
        raise ConfigError(
            f"unknown count unit {unit!r} in {raw!r}", hint=f"accepted: {COUNT_FORMS}"
        )
    return value * factor


def parse_duration(raw: object) -> float:
    """Seconds in ``raw``: ``5y`` is 5 * 365 days, ``30d`` is 30 days. A unit is required."""
    value, unit = _split(raw, DURATION_FORMS)
    if unit == "":
        raise ConfigError(f"{raw!r} has no time unit", hint=f"accepted: {DURATION_FORMS}")
    if unit.lower() == "m":
        raise ConfigError(
            f"{raw!r} is ambiguous: minutes or months?",
            hint=f"write min for minutes or mo for months; accepted: {DURATION_FORMS}",
        )
    factor = _DURATIONS.get(unit.lower())
    if factor is None:
        raise ConfigError(
            f"unknown time unit {unit!r} in {raw!r}", hint=f"accepted: {DURATION_FORMS}"
        )
    return value * factor


def parse_fraction(raw: object) -> float:
    """A fraction in [0, 1]: ``0.5`` or ``50%``."""
    value, unit = _split(raw, FRACTION_FORMS)
    if unit == "%":
        value /= 100.0
    elif unit != "":
        raise ConfigError(f"unknown unit {unit!r} in {raw!r}", hint=f"accepted: {FRACTION_FORMS}")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{raw!r} is outside [0, 1]", hint=f"accepted: {FRACTION_FORMS}")
    return value


def _significant(value: float, digits: int) -> str:
    """``value`` with at most ``digits`` significant digits, trailing zeros dropped."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{round(value, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_size(n_bytes: float, system: UnitSystem = UnitSystem.DECIMAL, digits: int = 4) -> str:
    """``n_bytes`` in the largest unit of ``system`` that keeps the number at least 1."""
    base, units = (
        (1000, ["B", "KB", "MB", "GB", "TB", "PB", "EB"])
        if system is UnitSystem.DECIMAL
        else (1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"])
    )
    value, index = float(n_bytes), 0
    while abs(value) >= base and index < len(units) - 1:
        value /= base
        index += 1
    text = _significant(value, digits)
    if text.replace(",", "").lstrip("-") == str(base) and index < len(units) - 1:
        text, index = "1", index + 1  # 999.96 KB rounds to 1000 KB: say 1 MB
    return f"{text} {units[index]}"


def format_count(value: float, digits: int = 4) -> str:
    """A count: in full with thousands commas below a million, else 150M, 1.667B, 2T."""
    if abs(value) < 1e6:
        if value == int(value):
            return f"{int(value):,}"
        text = _significant(value, max(digits, len(str(int(abs(value))))))
        return text
    suffixes = ((1e6, "M"), (1e9, "B"), (1e12, "T"))
    for index, (factor, suffix) in enumerate(suffixes):
        last = index == len(suffixes) - 1
        if last or abs(value) < suffixes[index + 1][0]:
            text = _significant(value / factor, digits)
            if not last and text.replace(",", "").lstrip("-") == "1000":
                continue  # 999.99M rounds up to 1000M: say 1B
            return f"{text}{suffix}"
    return f"{_significant(value / 1e12, digits)}T"  # pragma: no cover  (the loop returns)


def format_duration(seconds: float, digits: int = 4) -> str:
    """A duration in the largest of y, d, h, min, s that keeps the number at least 1."""
    for size, suffix in (
        (SECONDS_PER_YEAR, "y"),
        (SECONDS_PER_DAY, "d"),
        (3600, "h"),
        (60, "min"),
    ):
        if abs(seconds) >= size:
            return f"{_significant(seconds / size, digits).replace(',', '')}{suffix}"
    return f"{_significant(seconds, digits).replace(',', '')}s"


def format_latency(seconds: float, digits: int = 3) -> str:
    """A short time as the latency tables write it: 0.5 ns, 150 µs, 10 ms, 1.5 s."""
    for size, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(seconds) >= size:
            return f"{_significant(seconds / size, digits)} {suffix}"
    return f"{_significant(seconds / 1e-9, digits)} ns"


def format_bits_per_s(bytes_per_s: float, digits: int = 4) -> str:
    """A byte rate as a link speed: always decimal bits, 8 bits a byte (100 MB/s is 800 Mbit/s)."""
    value, index = 8.0 * bytes_per_s, 0
    units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s", "Pbit/s"]
    while abs(value) >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{_significant(value, digits)} {units[index]}"


def format_exact(value: float) -> str:
    """``value`` as the explanation prints a result: every integer digit, at least six
    significant digits, thousands commas (``3,472.22``, ``54,750,000,000,000,000``).
    Removing the commas and reading it back gives ``value`` within 5e-6 relative.
    """
    if value == int(value) and abs(value) < 1e21:
        return f"{int(value):,}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, 5 - magnitude)
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
