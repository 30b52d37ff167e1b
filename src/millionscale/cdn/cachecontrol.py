"""Cache directives: ``Cache-Control`` (RFC 9111 §5.2) and a targeted field such as
``CDN-Cache-Control`` (RFC 9213), parsed once into a :class:`Directives` record.

Two parsers, one record:

- :func:`parse_directives` reads ``Cache-Control`` (RFC 9111 §5.2: "Cache
  directives are identified by a token, to be compared case-insensitively, and
  have an optional argument that can use both token and quoted-string syntax").
  It never fails: what it cannot read it ignores ("A cache MUST ignore
  unrecognized cache directives", §5.2.3), except a directive whose argument is
  not a valid delta-seconds, which is read in its least permissive way (§4.2.1:
  "caches are encouraged to consider responses that have invalid freshness
  information (e.g., a max-age directive with non-integer content) to be
  stale"): ``max-age=abc`` is ``max-age=0``, ``max-stale=abc`` is no
  ``max-stale``. Duplicates: the first occurrence wins (§4.2.1: "either the
  first occurrence should be used or the response should be considered stale").
- :func:`parse_targeted` reads a targeted field, a Dictionary Structured Field
  (RFC 9213 §2: "Targeted fields are Dictionary Structured Fields"; RFC 8941
  §3.2). An empty field or a parse error gives ``None`` (RFC 9213 §2.1: "If a
  targeted field in a given response is empty, or a parsing error is
  encountered, that field SHOULD be ignored by the cache"), and the caller falls
  back to ``Cache-Control``.

Request and response directives share the record (§5.2.1 and §5.2.2 name some of
the same directives); a field a message cannot carry is simply left at its default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DELTA_SECONDS_MAX", "EMPTY", "Directives", "parse_directives", "parse_targeted"]

DELTA_SECONDS_MAX = 2147483648
"""RFC 9111 §1.2.2: a delta-seconds greater than a cache can represent "MUST
[be considered] to be 2147483648 (2^31)"."""

_NO_FIELDS: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class Directives:
    """The cache directives of one message (RFC 9111 §5.2.1 request, §5.2.2 response).

    Times are seconds (``None``: the directive is absent). ``max_stale`` is
    ``math.inf`` for a bare ``max-stale`` ("the client will accept a stale
    response of any age", §5.2.1.2). ``no_cache_fields`` / ``private_fields``
    are the lower-case field names of the qualified forms (§5.2.2.4, §5.2.2.7);
    a qualified form leaves ``no_cache`` / ``private`` False.
    """

    max_age: int | None = None
    s_maxage: int | None = None
    max_stale: float | None = None
    min_fresh: int | None = None
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    no_cache: bool = False
    no_cache_fields: tuple[bytes, ...] = _NO_FIELDS
    no_store: bool = False
    private: bool = False
    private_fields: tuple[bytes, ...] = _NO_FIELDS
    public: bool = False
    must_revalidate: bool = False
    proxy_revalidate: bool = False
    must_understand: bool = False
    no_transform: bool = False
    only_if_cached: bool = False
    immutable: bool = False


EMPTY = Directives()
"""No directives: what a message without ``Cache-Control`` has."""


def _delta_seconds(argument: str | None) -> int | None:
    """RFC 9111 §1.2.2 ``delta-seconds = 1*DIGIT``, capped at 2^31; ``None`` if invalid."""
    if argument is None or not argument.isascii() or not argument.isdigit():
        return None
    return min(int(argument), DELTA_SECONDS_MAX)


def _field_names(argument: str | None) -> tuple[bytes, ...]:
    if not argument:
        return _NO_FIELDS
    return tuple(
        name.strip().lower().encode("ascii", "replace")
        for name in argument.split(",")
        if name.strip()
    )


def _build(pairs: Iterable[tuple[str, str | None]]) -> Directives:
    """A record from (lower-case name, argument) pairs; the first of each name wins."""
    values: dict[str, object] = {}
    for name, argument in pairs:
        if name in values or name not in _KNOWN:
            continue
        if name in _DELTAS:
            seconds = _delta_seconds(argument)
            # §4.2.1: invalid freshness information is read as stale (0);
            # a window (stale-*) or a request's min-fresh likewise gives nothing.
            values[name] = 0 if seconds is None else seconds
        elif name == "max-stale":
            if argument is None:
                values[name] = math.inf
            else:
                seconds = _delta_seconds(argument)
                if seconds is not None:
                    values[name] = float(seconds)
        elif name in ("no-cache", "private"):
            fields = _field_names(argument)
            values[name] = fields if fields else True
        else:
            values[name] = True
    if not values:
        return EMPTY
    no_cache = values.get("no-cache", False)
    private = values.get("private", False)
    return Directives(
        max_age=_int(values.get("max-age")),
        s_maxage=_int(values.get("s-maxage")),
        max_stale=_float(values.get("max-stale")),
        min_fresh=_int(values.get("min-fresh")),
        stale_while_revalidate=_int(values.get("stale-while-revalidate")),
        stale_if_error=_int(values.get("stale-if-error")),
        no_cache=no_cache is True,
        no_cache_fields=no_cache if isinstance(no_cache, tuple) else _NO_FIELDS,
        no_store="no-store" in values,
        private=private is True,
        private_fields=private if isinstance(private, tuple) else _NO_FIELDS,
        public="public" in values,
        must_revalidate="must-revalidate" in values,
        proxy_revalidate="proxy-revalidate" in values,
        must_understand="must-understand" in values,
        no_transform="no-transform" in values,
        only_if_cached="only-if-cached" in values,
        immutable="immutable" in values,
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    return value if isinstance(value, float) else None


_DELTAS = frozenset(
    {"max-age", "s-maxage", "min-fresh", "stale-while-revalidate", "stale-if-error"}
)
_KNOWN = _DELTAS | {
    "max-stale",
    "no-cache",
    "no-store",
    "private",
    "public",
    "must-revalidate",
    "proxy-revalidate",
    "must-understand",
    "no-transform",
    "only-if-cached",
    "immutable",
}

_CACHE: dict[tuple[bytes, ...], Directives] = {}
_CACHE_MAX = 1024  # distinct Cache-Control values remembered; origins send few


def parse_directives(values: list[bytes]) -> Directives:
    """The directives in ``Cache-Control`` members ``values`` (as
    :meth:`.message.Request.values` splits them). Never raises.

    §5.2: "recipients ought to accept both forms [token and quoted-string],
    even if a specific form is required for generation", so ``max-age="5"`` is
    ``max-age=5``.
    """
    if not values:
        return EMPTY
    key = tuple(values)
    known = _CACHE.get(key)
    if known is not None:
        return known
    pairs: list[tuple[str, str | None]] = []
    for member in values:
        text = member.decode("latin-1")
        name, equals, argument = text.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if not equals:
            pairs.append((name, None))
            continue
        argument = argument.strip()
        if len(argument) >= 2 and argument[0] == '"' and argument[-1] == '"':
            argument = _unquote(argument[1:-1])
        pairs.append((name, argument))
    parsed = _build(pairs)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = parsed
    return parsed


def _unquote(text: str) -> str:
    """A quoted-string's content, its quoted-pairs undone (RFC 9110 §5.6.4)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def parse_targeted(values: list[bytes]) -> Directives | None:
    """The directives of a targeted field (RFC 9213 §2), its lines ``values`` as
    received (not split on commas), or ``None`` when it is absent, empty or not a
    valid Dictionary (RFC 8941 §4.2.2). Never raises.

    RFC 9213 §2 maps members to directives: a bare name (Boolean true) is a
    directive without argument, an Integer or a Token an argument, a String a
    quoted-string argument (``no-cache="set-cookie"``); a Boolean false is read
    as absent. Dictionary parsing is "last wins" for a repeated key (RFC 8941
    §4.2.2).
    """
    if not values:
        return None
    text = b", ".join(value.strip() for value in values).strip()
    if not text:
        return None
    try:
        members = _Dictionary(text.decode("ascii")).parse()
    except (_InvalidField, UnicodeDecodeError):
        return None
    if not members:
        return None
    pairs: list[tuple[str, str | None]] = []
    for name, item in members.items():
        if item is True:
            pairs.append((name, None))
        elif item is False:
            continue
        elif isinstance(item, (int, str)):
            pairs.append((name, str(item)))
        else:  # a Decimal, Byte Sequence or Inner List: no directive takes one
            pairs.append((name, "invalid"))
    return _build(pairs)


class _InvalidField(Exception):
    """The field is not a valid Structured Field (RFC 8941 §4.2: "fail parsing")."""


_Item = bool | int | str | float | bytes | list[object]
_LCALPHA = frozenset("abcdefghijklmnopqrstuvwxyz")
_KEY_CHARS = _LCALPHA | frozenset("0123456789_-.*")
_ALPHA = _LCALPHA | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TCHAR = _ALPHA | frozenset("0123456789!#$%&'*+-.^_`|~")
_TOKEN_CHARS = _TCHAR | frozenset(":/")
_BASE64 = _ALPHA | frozenset("0123456789+/=")


class _Dictionary:
    """RFC 8941 §4.2.2 "Parsing a Dictionary", over an ASCII string; raises
    :class:`_InvalidField` on anything the algorithm fails on. Parameters are
    parsed and dropped (no cache directive has any)."""

    __slots__ = ("position", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def _peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def _skip(self, chars: str) -> None:
        while self._peek() and self._peek() in chars:
            self.position += 1

    def parse(self) -> dict[str, _Item]:
        members: dict[str, _Item] = {}
        self._skip(" ")
        while self.position < len(self.text):
            key = self._key()
            if self._peek() == "=":
                self.position += 1
                value: _Item = self._inner_list() if self._peek() == "(" else self._bare_item()
            else:
                value = True
            self._parameters()
            members[key] = value
            self._skip(" \t")
            if self.position >= len(self.text):
                return members
            if self._peek() != ",":
                raise _InvalidField("expected a comma between members")
            self.position += 1
            self._skip(" \t")
            if self.position >= len(self.text):
                raise _InvalidField("trailing comma")
        return members

    def _key(self) -> str:
        start = self.position
        if self._peek() not in _LCALPHA and self._peek() != "*":
            raise _InvalidField("a key starts with a lower-case letter or *")
        while self._peek() and self._peek() in _KEY_CHARS:
            self.position += 1
        if start == self.position:
            raise _InvalidField("empty key")
        return self.text[start : self.position]

    def _parameters(self) -> None:
        while self._peek() == ";":
            self.position += 1
            self._skip(" ")
            self._key()
            if self._peek() == "=":
                self.position += 1
                self._bare_item()

    def _inner_list(self) -> list[object]:
        self.position += 1  # "("
        items: list[object] = []
        while self.position < len(self.text):
            self._skip(" ")
            if self._peek() == ")":
                self.position += 1
                return items
            items.append(self._bare_item())
            self._parameters()
            if self._peek() not in (" ", ")"):
                raise _InvalidField("inner list members are separated by spaces")
        raise _InvalidField("unterminated inner list")

    def _bare_item(self) -> _Item:
        char = self._peek()
        if char == "-" or char.isdigit():
            return self._number()
        if char == '"':
            return self._string()
        if char == ":":
            return self._bytes()
        if char == "?":
            return self._boolean()
        if char in _ALPHA or char == "*":
            start = self.position
            while self._peek() and self._peek() in _TOKEN_CHARS:
                self.position += 1
            return _Token(self.text[start : self.position])
        raise _InvalidField("not an item")

    def _number(self) -> int | float:
        start = self.position
        if self._peek() == "-":
            self.position += 1
        digits_start = self.position
        while self._peek().isdigit() or self._peek() == ".":
            self.position += 1
        digits = self.text[digits_start : self.position]
        if not digits or not digits[0].isdigit():
            raise _InvalidField("a number needs a digit")
        if "." in digits:
            whole, _, fraction = digits.partition(".")
            if "." in fraction or len(whole) > 12 or not 1 <= len(fraction) <= 3:
                raise _InvalidField("bad decimal")
            return float(self.text[start : self.position])
        if len(digits) > 15:
            raise _InvalidField("integer too long")
        return int(self.text[start : self.position])

    def _string(self) -> str:
        self.position += 1
        out: list[str] = []
        while self.position < len(self.text):
            char = self.text[self.position]
            self.position += 1
            if char == "\\":
                if self.position >= len(self.text) or self.text[self.position] not in '"\\':
                    raise _InvalidField("bad escape")
                out.append(self.text[self.position])
                self.position += 1
            elif char == '"':
                return "".join(out)
            elif not " " <= char <= "~":
                raise _InvalidField("not a printable character")
            else:
                out.append(char)
        raise _InvalidField("unterminated string")

    def _bytes(self) -> bytes:
        end = self.text.find(":", self.position + 1)
        if end < 0 or any(char not in _BASE64 for char in self.text[self.position + 1 : end]):
            raise _InvalidField("bad byte sequence")
        self.position = end + 1
        return b""

    def _boolean(self) -> bool:
        value = self.text[self.position + 1 : self.position + 2]
        if value not in ("0", "1"):
            raise _InvalidField("bad boolean")
        self.position += 2
        return value == "1"


class _Token(str):
    """A Token (RFC 8941 §3.3.4): read as an argument like a String."""

    __slots__ = ()
