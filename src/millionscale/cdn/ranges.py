"""Byte ranges served from a stored whole response (RFC 9110 §14, §13.1.5).

The cache stores whole representations only (:mod:`.storable` refuses a 206)
and answers ``Range`` requests from them: :func:`range_applies` says whether the
request's ``Range`` is to be honoured at all, :func:`parse_range` what it asks
for. One range per request: several ranges (which would need a
``multipart/byteranges`` body) are answered with the whole representation, which
§14.2 allows ("A server MAY ignore the Range header field").
"""

from __future__ import annotations

from dataclasses import dataclass

from .httpdate import parse_http_date
from .message import Request, Stored
from .validation import strong_match

__all__ = ["RangeNotSatisfiable", "parse_range", "range_applies"]


@dataclass(frozen=True, slots=True)
class RangeNotSatisfiable:
    """Answer 416 with ``content_range`` (RFC 9110 §15.5.17: "a server generating a 416
    (Range Not Satisfiable) response to a byte-range request SHOULD send a
    Content-Range header field with an unsatisfied-range value", ``bytes */size``)."""

    size: int

    @property
    def content_range(self) -> bytes:
        return b"bytes */" + str(self.size).encode("ascii")


def _position(text: bytes) -> int | None:
    return int(text) if text and text.isdigit() and len(text) <= 19 else None


def parse_range(value: bytes | None, size: int) -> tuple[int, int] | RangeNotSatisfiable | None:
    """The inclusive (first, last) byte positions ``Range`` ``value`` selects in a
    representation of ``size`` bytes; :class:`RangeNotSatisfiable`; or ``None``:
    serve the whole representation (no, several, or an invalid range). Never raises.

    RFC 9110 §14.1.2: ``bytes=first-last`` (last clamped to ``size - 1``: "If the
    last-pos value is absent, or if the value is greater than or equal to the
    current length of the representation data, the byte range is interpreted as
    the remainder of the representation"), ``bytes=first-``, ``bytes=-suffix``
    ("If the selected representation is shorter than the specified
    suffix-length, the entire representation is used"). §14.1.1: an int-range
    "is satisfiable if the first-pos is less than the current length", a
    suffix-range "if the suffix-length is greater than zero"; a range with
    last-pos < first-pos is invalid (ignored, §14.2: "A server MUST ignore a
    Range header field received with ... an unknown range unit or invalid
    ranges"... we read any invalid one so). A zero-length representation is
    served whole (a 206 of nothing helps no one).
    """
    if value is None:
        return None
    unit, equals, spec = value.partition(b"=")
    if not equals or unit.strip().lower() != b"bytes":
        return None
    members = [member.strip() for member in spec.split(b",") if member.strip()]
    if len(members) != 1 or size <= 0:
        return None
    first_text, dash, last_text = members[0].partition(b"-")
    if not dash:
        return None
    first_text, last_text = first_text.strip(), last_text.strip()
    if not first_text:
        suffix = _position(last_text)
        if suffix is None:
            return None
        if suffix == 0:
            return RangeNotSatisfiable(size)
        return max(0, size - suffix), size - 1
    first = _position(first_text)
    if first is None:
        return None
    if last_text:
        last = _position(last_text)
        if last is None or last < first:
            return None
    else:
        last = size - 1
    if first >= size:
        return RangeNotSatisfiable(size)
    return first, min(last, size - 1)


def range_applies(request: Request, stored: Stored) -> bool:
    """Whether ``request``'s ``Range`` is to be honoured against ``stored``.

    RFC 9110 §14.2: "A server MUST ignore a Range header field received with a
    request method that is unrecognized or for which range handling is not
    defined. For this specification, GET is the only method for which range
    handling is defined." Only a 200 is ranged. §13.1.5 (``If-Range``): "If the
    validator given in the If-Range header field is an entity tag that is a
    strong match for the selected representation's current entity tag, the
    condition is true; ... If the validator is an HTTP-date ... and [it] exactly
    matches the Last-Modified field value for the selected representation [and
    that is a strong validator], the condition is true ... Otherwise, the
    condition is false", and then the Range is ignored. A Last-Modified is
    strong here when the stored ``Date`` is at least one second after it
    (RFC 9110 §8.8.2.2).
    """
    if request.method != "GET" or stored.status != 200 or request.get(b"range") is None:
        return False
    condition = request.get(b"if-range")
    if condition is None:
        return True
    condition = condition.strip()
    if condition[:1] == b'"' or condition[:2] == b"W/":
        return strong_match(condition, stored.get(b"etag"))
    since = parse_http_date(condition)
    modified = parse_http_date(stored.get(b"last-modified"))
    date = parse_http_date(stored.get(b"date"))
    if since is None or modified is None or date is None:
        return False
    return since == modified and date - modified >= 1.0
