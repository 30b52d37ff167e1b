"""Which stored variant answers which request: ``Vary`` (RFC 9111 §4.1).

A stored response keeps the lower-case names its ``Vary`` nominates
(``Stored.vary``) and the original request's values of them, normalised
(``Stored.selecting``). A later request matches when its own normalised values
are the same; §4.1: "The header fields from two requests are defined to match if
and only if those in the first request can be transformed to those in the second
request by applying any of the following: adding or removing whitespace, where
allowed in the header field's syntax; combining multiple header field lines with
the same field name ...; normalizing both header field values in a way that is
known to have identical semantics ... (e.g., reordering field values when order
is not significant; case-normalization, where values are defined to be
case-insensitive)."

The normalisation (:func:`selecting_fields`): list members split, stripped and
joined by ``,``; for the ``Accept-*`` fields, whose members are
case-insensitive tokens with parameters and whose order carries no meaning
(preference is by q-value, RFC 9110 §12.4.2), also lower-cased, with the
whitespace inside members removed, and sorted. Vary names are sorted too, so
``Vary: a, b`` and ``Vary: b, a`` select alike. "If ... a header field is absent
from a request, it can only match another request if it is also absent there":
an absent field is left out of the selection, a present empty one is
``(name, b"")``.
"""

from __future__ import annotations

from .message import Fields, field_values

__all__ = ["VARY_ANY", "parse_vary", "selecting_fields", "variant_matches"]

VARY_ANY: tuple[bytes, ...] = (b"*",)
"""§4.1: "A stored response with a Vary header field value containing a member "*"
always fails to match"."""

_UNORDERED = frozenset({b"accept", b"accept-encoding", b"accept-language", b"accept-charset"})


def parse_vary(fields: Fields) -> tuple[bytes, ...]:
    """The sorted, distinct, lower-case names ``Vary`` nominates; :data:`VARY_ANY` for ``*``."""
    names = {member.lower() for member in field_values(fields, b"vary")}
    if b"*" in names:
        return VARY_ANY
    return tuple(sorted(names))


def selecting_fields(fields: Fields, vary: tuple[bytes, ...]) -> Fields:
    """A request's values of the ``vary`` names, normalised (see the module's docstring)."""
    selection: list[tuple[bytes, bytes]] = []
    for name in vary:
        if not any(key == name for key, _ in fields):
            continue
        members = field_values(fields, name)
        if name in _UNORDERED:
            members = sorted(b"".join(member.lower().split()) for member in members)
        selection.append((name, b",".join(members)))
    return tuple(selection)


def variant_matches(vary: tuple[bytes, ...], selecting: Fields, request_fields: Fields) -> bool:
    """Whether a request with ``request_fields`` may reuse a variant stored with
    ``vary`` and ``selecting`` (§4.1)."""
    if not vary:
        return True
    if vary == VARY_ANY:
        return False
    return selecting_fields(request_fields, vary) == selecting
