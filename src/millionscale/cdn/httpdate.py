"""HTTP dates (RFC 9110 §5.6.7): parsed to clock seconds, and written.

"Recipients of timestamp values are encouraged to be robust in parsing
timestamps unless otherwise restricted by the field definition. ... A recipient
that parses a timestamp value in an HTTP field MUST accept all three HTTP-date
formats": IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), the obsolete
RFC 850 form (``Sunday, 06-Nov-94 08:49:37 GMT``) and asctime
(``Sun Nov  6 08:49:37 1994``). Anything else is not a date: :func:`parse_http_date`
returns ``None`` and never raises.
"""

from __future__ import annotations

import calendar
import re
from email.utils import formatdate

__all__ = ["format_http_date", "parse_http_date"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_IMF = re.compile(rb"[A-Za-z]{3}, (\d\d) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT")
_RFC850 = re.compile(rb"[A-Za-z]{6,9}, (\d\d)-([A-Za-z]{3})-(\d\d) (\d\d):(\d\d):(\d\d) GMT")
_ASCTIME = re.compile(rb"[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})")
_CACHE: dict[bytes, float | None] = {}
_CACHE_MAX = 4096  # distinct date strings remembered (Date values repeat within a second)


def parse_http_date(value: bytes | None) -> float | None:
    """``value`` as seconds since the epoch (UTC), or ``None`` if it is not an HTTP-date."""
    if value is None:
        return None
    if value in _CACHE:
        return _CACHE[value]
    parsed = _parse(value.strip())
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[value] = parsed
    return parsed


def _parse(value: bytes) -> float | None:
    match = _IMF.fullmatch(value)
    if match:
        day, month, year, hour, minute, second = match.groups()
        full_year = int(year)
    elif match := _RFC850.fullmatch(value):
        day, month, year, hour, minute, second = match.groups()
        # §5.6.7: a two-digit year "more than 50 years in the future" is the past
        # century's; without a clock here, 70-99 -> 19xx, 00-69 -> 20xx (the
        # usual pivot, the Unix epoch's).
        full_year = int(year) + (1900 if int(year) >= 70 else 2000)
    elif match := _ASCTIME.fullmatch(value):
        month, day, hour, minute, second, year = match.groups()
        full_year = int(year)
    else:
        return None
    number = _MONTHS.get(month.decode("ascii").lower())
    day_n, hour_n, minute_n, second_n = int(day), int(hour), int(minute), int(second)
    if (
        number is None
        or not 1 <= full_year <= 9999
        or not 1 <= day_n <= 31
        or hour_n > 23
        or minute_n > 59
        or second_n > 60
    ):
        return None
    if day_n > calendar.monthrange(full_year, number)[1]:
        return None
    return float(
        calendar.timegm((full_year, number, day_n, hour_n, minute_n, min(second_n, 59), 0, 0, 0))
    )


def format_http_date(seconds: float) -> bytes:
    """``seconds`` as an IMF-fixdate, the form a sender MUST generate (§5.6.7)."""
    return formatdate(seconds, usegmt=True).encode("ascii")
