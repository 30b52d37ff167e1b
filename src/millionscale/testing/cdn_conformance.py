"""An HTTP conformance suite for shared caches: RFC 9111, RFC 5861, RFC 9213, RFC 9110 ranges.

Each :class:`Case` is a small scripted exchange, as data: what the origin
answers (a script of :class:`~millionscale.testing.Answer` for the case's own
path ``/c/<case>/``, served by :class:`~millionscale.testing.ScriptedOrigin`),
the requests a client sends through the cache under test (:class:`Send`,
with :class:`Wait` between them for time-dependent cases), and after each
request an :class:`Expect`: the status, the body (which of the origin's
answers was served), header fields, ``Age``, and how many times the origin was
contacted for the case so far, with which fields.

Every case names the RFC section it checks and quotes the requirement, with
its level: ``MUST`` (a failure is a violation), ``SHOULD``, or ``MAY`` (an
optional behaviour the case looks for: a cache that does not implement
RFC 5861 or RFC 9213 fails those cases without violating anything). A cache
that never stores anything passes many MUST NOT cases trivially; the cases
where that matters also check that a fresh response *was* reused first.

:func:`run_conformance` runs the cases against a cache's base URL, several at
a time (each case has its own path, so they do not interfere; the
time-dependent ones sleep 1-5 s, concurrently), and returns a
:class:`CaseResult` per case: passed or not, and the first check that failed
with what was seen. The whole suite takes well under a minute per cache.

The client side is a deliberately plain HTTP/1.1 client (one connection per
request, ``Connection: close``, only the header fields the case gives plus
``Host``), so that no library adds ``Accept-Encoding`` or the like behind a
``Vary`` case's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from millionscale.testing._origin import Answer, ScriptedOrigin, Seen, expand_dates, served_answer

__all__ = [
    "CASES",
    "Case",
    "CaseResult",
    "Expect",
    "Level",
    "Reply",
    "Send",
    "Wait",
    "exchange",
    "run_case",
    "run_conformance",
    "run_conformance_async",
    "scripts",
]

Level = Literal["MUST", "SHOULD", "MAY"]
Pairs = tuple[tuple[str, str], ...]
Count = int | tuple[int, int]  # exactly n, or an inclusive range

HOST = "conformance.test"
REPLY_TIMEOUT_S = 8.0  # a cache waiting on an origin that closed: its own timeouts are shorter
CONCURRENCY = 16  # cases in flight at once
BODY_64 = bytes(range(48, 48 + 64))  # 64 distinct bytes, for the range cases
# The range cases' origin says it supports ranges (RFC 9110 §14.3), as nginx requires
# before it serves ranges from its cache (proxy_force_ranges off).
RANGES = ("Accept-Ranges", "bytes")


@dataclass(frozen=True, slots=True)
class Expect:
    """What one reply must show; ``None`` (or empty) checks nothing.

    ``origin`` is the number of requests the origin got for the case so far
    (an int, or an inclusive ``(low, high)``); ``served`` which of the
    origin's answers the body is (``answer N of ...``); ``origin_saw`` header
    fields the origin's latest request for the case carried (value ``""``:
    any value).
    """

    status: int | tuple[int, ...] | None = None
    origin: Count | None = None
    served: int | None = None
    body: bytes | None = None
    headers: Pairs = ()
    absent: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    age_at_least: int | None = None
    age_below: int | None = None
    origin_saw: Pairs = ()


@dataclass(frozen=True, slots=True)
class Send:
    """One client request through the cache, to the case's path plus ``path``."""

    expect: Expect
    method: str = "GET"
    headers: Pairs = ()
    path: str = ""
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float


Step = Send | Wait


@dataclass(frozen=True, slots=True)
class Case:
    """One conformance case: the origin's script, the client's steps, the requirement."""

    name: str
    title: str
    section: str
    level: Level
    requirement: str
    origin: tuple[Answer, ...]
    steps: tuple[Step, ...]

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps if isinstance(step, Wait))


@dataclass(frozen=True, slots=True)
class Reply:
    """What the client got: status, fields (names lower-case), body, or why it got nothing whole."""

    status: int
    headers: Pairs
    body: bytes
    error: str = ""

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    title: str
    section: str
    level: Level
    passed: bool
    reason: str  # "" when passed; else the first failed check and what was seen
    seconds: float


def _cc(value: str) -> tuple[str, str]:
    return ("Cache-Control", value)


# Shorthands for the case table.
FRESH = Answer(headers=(_cc("max-age=60"),))
# Short lifetimes are 2 s, not 1: Date has whole seconds, so a response may be up to 1 s old
# on arrival. PAST_SHORT: when a max-age=2 response is stale everywhere (nginx counts whole
# seconds).
PAST_SHORT = 3.3
TEN_DAYS = 864000
ETAG_V1 = ("ETag", '"v1"')
NOT_MODIFIED_60 = Answer(304, (ETAG_V1, _cc("max-age=60")))


def _case(
    name: str,
    title: str,
    section: str,
    level: Level,
    requirement: str,
    origin: Sequence[Answer],
    *steps: Step,
) -> Case:
    return Case(name, title, section, level, requirement, tuple(origin), steps)


CASES: tuple[Case, ...] = (
    # --- freshness: RFC 9111 §4.2, §5.2.2, §5.3 -------------------------------------------
    _case(
        "max-age", "max-age: reused while fresh", "RFC 9111 §5.2.2.1", "MAY",
        "The max-age response directive indicates that the response is to be considered stale "
        "after its age is greater than the specified number of seconds.",
        [FRESH],
        Send(Expect(status=200, served=1, origin=1)),
        Send(Expect(status=200, served=1, origin=1)),
    ),
    _case(
        "max-age-expiry", "max-age=2: not reused once stale", "RFC 9111 §4.2", "MUST",
        "A cache MUST NOT send stale responses unless they are sent in an explicitly permitted "
        "way (Section 4.2.4); a response is fresh while its age has not yet exceeded its "
        "freshness lifetime.",
        [Answer(headers=(_cc("max-age=2"),))],
        Send(Expect(served=1, origin=1)),
        Send(Expect(served=1, origin=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "max-age-0", "max-age=0: never reused without validation", "RFC 9111 §4.2", "MUST",
        "A cache MUST NOT send stale responses unless they are sent in an explicitly permitted "
        "way (Section 4.2.4).",
        [Answer(headers=(_cc("max-age=0"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=2, served=2)),
    ),
    _case(
        "s-maxage-over-max-age-stale", "s-maxage=0 beats max-age=60 in a shared cache",
        "RFC 9111 §5.2.2.10", "MUST",
        "For a shared cache, the maximum age specified by this directive overrides the maximum "
        "age specified by either the max-age directive or the Expires header field.",
        [Answer(headers=(_cc("max-age=60, s-maxage=0"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=2, served=2)),
    ),
    _case(
        "s-maxage-over-max-age-fresh", "s-maxage=60 beats max-age=0 in a shared cache",
        "RFC 9111 §5.2.2.10", "MAY",
        "For a shared cache, the maximum age specified by this directive overrides the maximum "
        "age specified by either the max-age directive or the Expires header field.",
        [Answer(headers=(_cc("max-age=0, s-maxage=60"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=1, served=1)),
    ),
    _case(
        "expires", "Expires 2 s ahead: fresh, then stale", "RFC 9111 §5.3", "MUST",
        "The Expires header field gives the date/time after which the response is considered "
        "stale.",
        [Answer(headers=(("Expires", "{date+2}"),))],
        Send(Expect(served=1, origin=1)),
        Send(Expect(served=1, origin=1)),
        Wait(3.3),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "max-age-over-expires", "max-age wins over an Expires in the past", "RFC 9111 §5.3",
        "MUST",
        "If a response includes a Cache-Control header field with the max-age directive "
        "(Section 5.2.2.1), a recipient MUST ignore the Expires header field.",
        [Answer(headers=(_cc("max-age=60"), ("Expires", "{date-3600}")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=1, origin=1)),
    ),
    _case(
        "expires-invalid", "Expires: 0 means already expired", "RFC 9111 §5.3", "MUST",
        'A cache recipient MUST interpret invalid date formats, especially the value "0", as '
        'representing a time in the past (i.e., "already expired").',
        [Answer(headers=(("Expires", "0"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "max-age-invalid", "max-age=abc: treated as stale", "RFC 9111 §4.2.1", "SHOULD",
        "Caches are encouraged to consider responses that have invalid freshness information "
        "to be stale.",
        [Answer(headers=(_cc("max-age=abc"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "age-counts", "Age: 50 with max-age=53 is fresh for 3 s only", "RFC 9111 §4.2.3", "MUST",
        "age_value: The term \"age_value\" denotes the value of the Age header field "
        "(Section 5.1), in a form appropriate for arithmetic operation; ... "
        "corrected_initial_age = max(apparent_age, corrected_age_value).",
        [Answer(headers=(_cc("max-age=53"), ("Age", "50")))],
        Send(Expect(served=1, origin=1)),
        Send(Expect(served=1, origin=1, age_at_least=50)),
        Wait(4.3),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "age-over-max-age", "Age: 100 with max-age=60 is stale on arrival", "RFC 9111 §4.2.3",
        "MUST",
        "A response is fresh if its age has not yet exceeded its freshness lifetime; its age "
        "counts the Age header field received from upstream.",
        [Answer(headers=(_cc("max-age=60"), ("Age", "100")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "age-generated", "a reused response carries its current Age", "RFC 9111 §4", "MUST",
        "When a stored response is used to satisfy a request without validation, a cache MUST "
        "generate an Age header field (Section 5.1), replacing any present in the response with "
        "a value equal to the stored response's current_age.",
        [FRESH],
        Send(Expect(served=1)),
        Wait(1.5),
        Send(Expect(status=200, served=1, origin=1, age_at_least=1, age_below=10)),
    ),
    _case(
        "heuristic-last-modified", "heuristic freshness from Last-Modified (200)",
        "RFC 9111 §4.2.2", "MAY",
        "If the response has a Last-Modified header field, caches are encouraged to use a "
        "heuristic expiration value that is no more than some fraction of the interval since "
        "that time. A typical setting of this fraction might be 10%.",
        [Answer(headers=(("Last-Modified", f"{{date-{TEN_DAYS}}}"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=1, origin=1)),
    ),
    _case(
        "heuristic-404", "a 404 is heuristically cacheable", "RFC 9110 §15.1", "MAY",
        "Responses with status codes that are defined as heuristically cacheable (e.g., 200, "
        "203, 204, 206, 300, 301, 308, 404, 405, 410, 414, and 501 in this specification) can "
        "be reused by a cache with heuristic expiration.",
        [Answer(404, (("Last-Modified", f"{{date-{TEN_DAYS}}}"),))],
        Send(Expect(status=404, served=1)),
        Send(Expect(status=404, served=1, origin=1)),
    ),
    _case(
        "no-heuristic-500", "a 500 without freshness is not reused", "RFC 9111 §3", "MUST",
        "A cache MUST NOT store a response to a request unless: ... the response contains at "
        "least one of: a public response directive; ... an Expires header field; a max-age "
        "response directive; ... a status code that is defined as heuristically cacheable.",
        [Answer(500, (("Last-Modified", f"{{date-{TEN_DAYS}}}"),))],
        Send(Expect(status=500, served=1)),
        Send(Expect(status=500, served=2, origin=2)),
    ),
    _case(
        "no-heuristic-302", "a 302 without freshness is not reused", "RFC 9111 §3", "MUST",
        "A cache MUST NOT store a response ... unless the response contains ... an Expires "
        "header field; a max-age response directive; ... a status code that is defined as "
        "heuristically cacheable (302 is not).",
        [Answer(302, (("Location", "/elsewhere"), ("Last-Modified", f"{{date-{TEN_DAYS}}}")))],
        Send(Expect(status=302, served=1)),
        Send(Expect(status=302, served=2, origin=2)),
    ),
    # --- storing: RFC 9111 §3, §5.2.2 -----------------------------------------------------
    _case(
        "no-store", "no-store: never stored", "RFC 9111 §5.2.2.5", "MUST",
        "The no-store response directive indicates that a cache MUST NOT store any part of "
        "either the immediate request or the response.",
        [Answer(headers=(_cc("no-store, max-age=60"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "private", "private: not stored by a shared cache", "RFC 9111 §5.2.2.7", "MUST",
        "The unqualified private response directive indicates that a shared cache MUST NOT "
        "store the response (i.e., the response is intended for a single user).",
        [Answer(headers=(_cc("private, max-age=60"),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "private-qualified", 'private="x-user": the field is never shared', "RFC 9111 §5.2.2.7",
        "MUST",
        "If a qualified private response directive is present, with one or more field names, "
        "then only the listed header fields are limited to a single user: a shared cache MUST "
        "NOT store the listed header fields if they are present in the original response.",
        [Answer(headers=(_cc('private="x-user", max-age=60'), ("X-User", "alice"))),
         Answer(headers=(_cc('private="x-user", max-age=60'),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, absent=("x-user",))),
    ),
    _case(
        "no-cache", "no-cache: validated on every use", "RFC 9111 §5.2.2.4", "MUST",
        "The no-cache response directive, in its unqualified form (without an argument), "
        "indicates that the response MUST NOT be used to satisfy any other request without "
        "forwarding it for validation and receiving a successful response.",
        [Answer(headers=(_cc("no-cache, max-age=60"), ETAG_V1),
                on_conditional=Answer(304, (ETAG_V1, _cc("no-cache, max-age=60"))))],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=2)),
        Send(Expect(status=200, origin=3)),
    ),
    _case(
        "no-cache-field", 'no-cache="set-cookie": the field is not reused', "RFC 9111 §5.2.2.4",
        "MUST",
        "If the no-cache response directive specifies one or more field names, then a cache "
        "MAY use the response to satisfy a subsequent request ... However, any header fields in "
        "the response that have the field name(s) listed MUST NOT be sent in the response to a "
        "subsequent request without successful revalidation with the origin server.",
        [Answer(headers=(_cc('no-cache="set-cookie", max-age=60'), ("Set-Cookie", "s=alice"))),
         Answer(headers=(_cc('no-cache="set-cookie", max-age=60'),))],
        Send(Expect(served=1)),
        Send(Expect(status=200, absent=("set-cookie",))),
    ),
    _case(
        "unknown-fields-stored", "unrecognised fields are kept in the stored response",
        "RFC 9111 §3.1", "MUST",
        "Caches MUST include all received response header fields -- including unrecognized "
        "ones -- when storing a response.",
        [Answer(headers=(_cc("max-age=60"), ("X-Conformance-Extra", "kept")))],
        Send(Expect(served=1)),
        Send(Expect(served=1, origin=1, headers=(("x-conformance-extra", "kept"),))),
    ),
    _case(
        "hop-by-hop", "fields named by Connection are not forwarded", "RFC 9110 §7.6.1", "MUST",
        "Intermediaries MUST parse a received Connection header field before a message is "
        "forwarded and, for each connection-option in this field, remove any header or trailer "
        "field(s) from the message with the same name as the connection-option.",
        [Answer(headers=(_cc("max-age=60"), ("Connection", "x-hop"), ("X-Hop", "secret")))],
        Send(Expect(served=1, absent=("x-hop",))),
        Send(Expect(served=1, origin=1, absent=("x-hop",))),
    ),
    # --- serving stale: RFC 9111 §4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10 --------------------
    _case(
        "must-revalidate-down", "must-revalidate: no stale answer when the origin is down",
        "RFC 9111 §5.2.2.2", "MUST",
        "The must-revalidate response directive indicates that once the response has become "
        "stale, a cache MUST NOT reuse that response to satisfy another request until it has "
        "been successfully validated by the origin ... if a cache is disconnected, the cache "
        "MUST generate an error response rather than reuse the stale response.",
        [Answer(headers=(_cc("max-age=2, must-revalidate"),)), Answer(fault="close")],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=(500, 502, 503, 504), origin=(2, 3))),
    ),
    _case(
        "proxy-revalidate-down", "proxy-revalidate: no stale answer from a shared cache",
        "RFC 9111 §5.2.2.8", "MUST",
        "The proxy-revalidate response directive indicates that once the response has become "
        "stale, a shared cache MUST NOT reuse that response to satisfy another request until "
        "it has been successfully validated by the origin.",
        [Answer(headers=(_cc("max-age=2, proxy-revalidate"),)), Answer(500)],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=500, served=2)),
    ),
    _case(
        "s-maxage-down", "s-maxage implies proxy-revalidate", "RFC 9111 §5.2.2.10", "MUST",
        "The s-maxage directive incorporates the semantics of the proxy-revalidate response "
        "directive (Section 5.2.2.8) for a shared cache.",
        [Answer(headers=(_cc("s-maxage=2"),)), Answer(500)],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=500, served=2)),
    ),
    # --- Vary: RFC 9111 §4.1 --------------------------------------------------------------
    _case(
        "vary-variants", "Vary: Accept-Language keeps variants apart", "RFC 9111 §4.1", "MUST",
        "When a cache receives a request that can be satisfied by a stored response and that "
        "stored response contains a Vary header field, the cache MUST NOT use that stored "
        "response without revalidation unless all the presented request header fields "
        "nominated by that Vary field value match those fields in the original request.",
        [Answer(headers=(_cc("max-age=60"), ("Vary", "Accept-Language")))],
        Send(Expect(served=1), headers=(("Accept-Language", "en"),)),
        Send(Expect(status=200, served=2, origin=2), headers=(("Accept-Language", "fr"),)),
        Send(Expect(status=200, served=1), headers=(("Accept-Language", "en"),)),
    ),
    _case(
        "vary-both-kept", "Vary: both variants stay stored", "RFC 9111 §4.1", "MAY",
        "If multiple selected responses are available (potentially including responses without "
        "a Vary header field), the cache will need to choose one to use.",
        [Answer(headers=(_cc("max-age=60"), ("Vary", "Accept-Language")))],
        Send(Expect(served=1), headers=(("Accept-Language", "en"),)),
        Send(Expect(served=2), headers=(("Accept-Language", "fr"),)),
        Send(Expect(served=1, origin=2), headers=(("Accept-Language", "en"),)),
        Send(Expect(served=2, origin=2), headers=(("Accept-Language", "fr"),)),
    ),
    _case(
        "vary-absent-field", "Vary: a field absent from the original request must be absent",
        "RFC 9111 §4.1", "MUST",
        "If (after any normalization that might take place) a header field is absent from a "
        "request, it can only match another request if it is also absent there.",
        [Answer(headers=(_cc("max-age=60"), ("Vary", "X-Variant")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2), headers=(("X-Variant", "b"),)),
    ),
    _case(
        "vary-star", "Vary: * never matches", "RFC 9111 §4.1", "MUST",
        'A stored response with a Vary header field value containing a member "*" always fails '
        "to match.",
        [Answer(headers=(_cc("max-age=60"), ("Vary", "*")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "vary-normalised", "Vary: values equal but for whitespace match", "RFC 9111 §4.1", "MAY",
        "The header fields from two requests are defined to match if and only if those in the "
        "first request can be transformed to those in the second request by applying any of "
        "the following: adding or removing whitespace, where allowed in the header field's "
        "syntax; combining multiple header field lines with the same field name.",
        [Answer(headers=(_cc("max-age=60"), ("Vary", "Accept-Language")))],
        Send(Expect(served=1), headers=(("Accept-Language", "en, fr"),)),
        Send(Expect(served=1, origin=1), headers=(("Accept-Language", "en,fr"),)),
    ),
    # --- Authorization: RFC 9111 §3.5 -----------------------------------------------------
    _case(
        "authorization-not-shared", "a response to an authorised request is not shared",
        "RFC 9111 §3.5", "MUST",
        "A shared cache MUST NOT use a cached response to a request with an Authorization "
        "header field (Section 11.6.2 of [HTTP]) to satisfy any other request unless it has a "
        "directive that allows such responses to be stored.",
        [FRESH],
        Send(Expect(served=1), headers=(("Authorization", "Bearer alice"),)),
        Send(Expect(status=200, served=2, origin=2), headers=(("Authorization", "Bearer bob"),)),
        Send(Expect(status=200, served=3, origin=3)),
    ),
    _case(
        "authorization-public", "Authorization with public: may be shared", "RFC 9111 §3.5",
        "MAY",
        "In this specification, the following response directives have such an effect: "
        "must-revalidate (Section 5.2.2.2), public (Section 5.2.2.9), and s-maxage "
        "(Section 5.2.2.10).",
        [Answer(headers=(_cc("public, max-age=60"),))],
        Send(Expect(served=1), headers=(("Authorization", "Bearer alice"),)),
        Send(Expect(status=200, served=1, origin=1), headers=(("Authorization", "Bearer bob"),)),
    ),
    _case(
        "authorization-s-maxage", "Authorization with s-maxage: may be shared", "RFC 9111 §3.5",
        "MAY",
        "In this specification, the following response directives have such an effect: "
        "must-revalidate (Section 5.2.2.2), public (Section 5.2.2.9), and s-maxage "
        "(Section 5.2.2.10).",
        [Answer(headers=(_cc("s-maxage=60"),))],
        Send(Expect(served=1), headers=(("Authorization", "Bearer alice"),)),
        Send(Expect(status=200, served=1, origin=1), headers=(("Authorization", "Bearer bob"),)),
    ),
    # --- invalidation: RFC 9111 §4.4 ------------------------------------------------------
    _case(
        "post-invalidates", "a POST invalidates the stored GET", "RFC 9111 §4.4", "MUST",
        "A cache MUST invalidate the target URI (Section 7.1 of [HTTP]) when it receives a "
        "non-error status code in response to an unsafe request method (including methods "
        "whose safety is unknown).",
        [FRESH, Answer(headers=(_cc("no-store"),)), FRESH],
        Send(Expect(served=1)),
        Send(Expect(served=1, origin=1)),
        Send(Expect(status=200, served=2, origin=2), method="POST", body=b"x=1"),
        Send(Expect(status=200, served=3, origin=3)),
    ),
    _case(
        "delete-invalidates", "a DELETE invalidates the stored GET", "RFC 9111 §4.4", "MUST",
        "A cache MUST invalidate the target URI (Section 7.1 of [HTTP]) when it receives a "
        "non-error status code in response to an unsafe request method.",
        [FRESH, Answer(headers=(_cc("no-store"),)), FRESH],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2), method="DELETE"),
        Send(Expect(status=200, served=3, origin=3)),
    ),
    _case(
        "post-error-keeps", "a POST answered 500 does not invalidate", "RFC 9111 §4.4", "MAY",
        "A cache MUST invalidate the target URI when it receives a non-error status code in "
        "response to an unsafe request method (an error status does not oblige it).",
        [FRESH, Answer(500, (_cc("no-store"),))],
        Send(Expect(served=1)),
        Send(Expect(status=500, origin=2), method="POST", body=b"x=1"),
        Send(Expect(status=200, served=1, origin=2)),
    ),
    _case(
        "location-invalidated", "a POST's Location is invalidated too", "RFC 9111 §4.4", "MAY",
        "A cache MAY invalidate other URIs when it receives a non-error status code in response "
        "to an unsafe request method ... In particular, the URI(s) in the Location and "
        "Content-Location response header fields (if present) are candidates for invalidation.",
        [FRESH, Answer(201, (_cc("no-store"), ("Location", "/c/location-invalidated/item"))),
         FRESH],
        Send(Expect(served=1), path="item"),
        Send(Expect(status=201, origin=2), method="POST", body=b"x=1"),
        Send(Expect(status=200, served=3, origin=3), path="item"),
    ),
    # --- validation: RFC 9111 §4.3 --------------------------------------------------------
    _case(
        "revalidation-sends-etag", "revalidation sends If-None-Match", "RFC 9111 §4.3.1",
        "SHOULD",
        "[A cache] then updates that request with one or more precondition header fields. "
        "These contain validator metadata sourced from a stored response(s) that has the same "
        "URI ... Another is the entity tag given in an ETag field for a representation.",
        [Answer(headers=(_cc("max-age=2"), ETAG_V1), on_conditional=NOT_MODIFIED_60)],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=1)),
        Wait(0.5),  # a cache may revalidate in the background
        Send(Expect(status=200, served=1, origin=2, origin_saw=(("if-none-match", '"v1"'),))),
    ),
    _case(
        "revalidation-sends-date", "revalidation sends If-Modified-Since", "RFC 9111 §4.3.1",
        "SHOULD",
        "One such validator is the timestamp given in a Last-Modified header field "
        "(Section 8.8.2 of [HTTP]).",
        [Answer(headers=(_cc("max-age=2"), ("Last-Modified", "{date-3600}")),
                on_conditional=Answer(304, (_cc("max-age=60"),)))],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=1)),
        Wait(0.5),  # a cache may revalidate in the background
        Send(Expect(status=200, served=1, origin=2, origin_saw=(("if-modified-since", ""),))),
    ),
    _case(
        "304-updates-fields", "a 304 updates the stored fields and freshness", "RFC 9111 §4.3.4",
        "MUST",
        "For each stored response identified, the cache MUST update its header fields with the "
        "header fields provided in the 304 (Not Modified) response, as per Section 3.2.",
        [Answer(headers=(_cc("max-age=2"), ETAG_V1, ("X-Version", "1"))),
         # A cache that refetches in full gets version 2 as well: only a 304 that is not
         # applied to the stored response fails.
         Answer(headers=(_cc("max-age=60"), ETAG_V1, ("X-Version", "2")),
                on_conditional=Answer(304, (ETAG_V1, _cc("max-age=60"), ("X-Version", "2"))))],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200)),
        Wait(0.5),  # a cache may revalidate in the background
        Send(Expect(status=200, origin=2, headers=(("x-version", "2"),))),
    ),
    _case(
        "full-response-replaces", "a 200 to a revalidation replaces the stored response",
        "RFC 9111 §4.3.3", "MUST",
        "A full response (i.e., one containing content) indicates that none of the stored "
        "responses nominated in the conditional request are suitable. Instead, the cache MUST "
        "use the full response to satisfy the request.",
        [Answer(headers=(_cc("max-age=2"), ETAG_V1)),
         Answer(headers=(_cc("max-age=60"), ("ETag", '"v2"')))],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200)),
        Wait(0.5),  # a cache may revalidate in the background
        Send(Expect(status=200, served=2, origin=2)),
    ),
    # --- conditional requests from clients: RFC 9111 §4.3.2, RFC 9110 §13 -------------------
    _case(
        "client-inm-304", "If-None-Match matching the stored ETag: 304 from the cache",
        "RFC 9111 §4.3.2", "SHOULD",
        "A request containing an If-None-Match header field (Section 13.1.2 of [HTTP]) "
        "indicates that the client wants to validate one or more of its own stored responses "
        "in comparison to the stored response chosen by the cache.",
        [Answer(headers=(_cc("max-age=60"), ETAG_V1))],
        Send(Expect(served=1)),
        Send(Expect(status=304, origin=1, headers=(("etag", '"v1"'),)),
             headers=(("If-None-Match", '"v1"'),)),
    ),
    _case(
        "client-inm-mismatch", "If-None-Match not matching: the full response", "RFC 9110 §13.1.2",
        "MUST",
        "If the field value is a list of entity tags, the condition is false if one of the "
        "listed tags matches the entity tag of the selected representation (and true "
        "otherwise: the request is processed as if the condition were absent).",
        [Answer(headers=(_cc("max-age=60"), ETAG_V1))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=1), headers=(("If-None-Match", '"other"'),)),
    ),
    _case(
        "client-inm-weak", "If-None-Match uses the weak comparison", "RFC 9110 §13.1.2",
        "SHOULD",
        "A recipient MUST use the weak comparison function when comparing entity tags for "
        "If-None-Match (Section 8.8.3.2), since weak entity tags can be used for cache "
        "validation even if there have been changes to the representation data.",
        [Answer(headers=(_cc("max-age=60"), ("ETag", 'W/"v1"')))],
        Send(Expect(served=1)),
        Send(Expect(status=304, origin=1), headers=(("If-None-Match", '"v1"'),)),
    ),
    _case(
        "client-ims-304", "If-Modified-Since not older than Last-Modified: 304",
        "RFC 9111 §4.3.2", "SHOULD",
        "If an If-None-Match header field is not present, a request containing an "
        "If-Modified-Since header field (Section 13.1.3 of [HTTP]) indicates that the client "
        "wants to validate one or more of its own stored responses by modification date.",
        [Answer(headers=(_cc("max-age=60"), ("Last-Modified", "{date-3600}")))],
        Send(Expect(served=1)),
        Send(Expect(status=304, origin=1), headers=(("If-Modified-Since", "{date}"),)),
    ),
    _case(
        "client-inm-over-ims", "If-None-Match takes precedence over If-Modified-Since",
        "RFC 9110 §13.1.3", "MUST",
        "A recipient MUST ignore If-Modified-Since if the request contains an If-None-Match "
        "header field; the condition in If-None-Match is considered to be a more accurate "
        "replacement for the condition in If-Modified-Since.",
        [Answer(headers=(_cc("max-age=60"), ETAG_V1, ("Last-Modified", "{date-3600}")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=1),
             headers=(("If-None-Match", '"other"'), ("If-Modified-Since", "{date}"))),
    ),
    # --- ranges: RFC 9110 §14, §13.1.5 ----------------------------------------------------
    _case(
        "range-from-cache", "Range served from the stored full response", "RFC 9110 §14.2",
        "MAY",
        "A server MAY ignore the Range header field ... [a server that supports range "
        "requests] ... A server generating a 206 response MUST generate a Content-Range header "
        "field (Section 14.4).",
        [Answer(headers=(_cc("max-age=60"), ETAG_V1, RANGES), body=BODY_64)],
        Send(Expect(body=BODY_64)),
        Send(Expect(status=206, origin=1, body=BODY_64[:10],
                    headers=(("content-range", "bytes 0-9/64"),)),
             headers=(("Range", "bytes=0-9"),)),
    ),
    _case(
        "range-suffix", "a suffix range (bytes=-5) from the cache", "RFC 9110 §14.1.1", "MAY",
        "A client can request the last N bytes (N > 0) of the selected representation using a "
        "suffix-range.",
        [Answer(headers=(_cc("max-age=60"), RANGES), body=BODY_64)],
        Send(Expect(body=BODY_64)),
        Send(Expect(status=206, origin=1, body=BODY_64[-5:],
                    headers=(("content-range", "bytes 59-63/64"),)),
             headers=(("Range", "bytes=-5"),)),
    ),
    _case(
        "range-unsatisfiable", "an unsatisfiable range: 416 with the length", "RFC 9110 §15.5.17",
        "MAY",
        "When this status code is generated in response to a byte-range request, the sender "
        "SHOULD generate a Content-Range header field specifying the current length of the "
        "selected representation.",
        [Answer(headers=(_cc("max-age=60"), RANGES), body=BODY_64)],
        Send(Expect(body=BODY_64)),
        Send(Expect(status=416, origin=1, headers=(("content-range", "bytes */64"),)),
             headers=(("Range", "bytes=100-200"),)),
    ),
    _case(
        "if-range-match", "If-Range with the current ETag: 206", "RFC 9110 §13.1.5", "MAY",
        "If the validator given in the If-Range header field matches the current validator "
        "for the selected representation of the target resource, then the server SHOULD "
        "process the Range header field as requested.",
        [Answer(headers=(_cc("max-age=60"), ETAG_V1, RANGES), body=BODY_64)],
        Send(Expect(body=BODY_64)),
        Send(Expect(status=206, origin=1, body=BODY_64[:10]),
             headers=(("Range", "bytes=0-9"), ("If-Range", '"v1"'))),
    ),
    _case(
        "if-range-mismatch", "If-Range with another ETag: the whole 200", "RFC 9110 §13.1.5",
        "MUST",
        "If the validator does not match, then the server MUST ignore the Range header field.",
        [Answer(headers=(_cc("max-age=60"), ETAG_V1, RANGES), body=BODY_64)],
        Send(Expect(body=BODY_64)),
        Send(Expect(status=200, body=BODY_64),
             headers=(("Range", "bytes=0-9"), ("If-Range", '"other"'))),
    ),
    # --- RFC 5861 -------------------------------------------------------------------------
    _case(
        "stale-while-revalidate", "stale-while-revalidate: stale served, refreshed behind",
        "RFC 5861 §3", "MAY",
        "When present in an HTTP response, the stale-while-revalidate Cache-Control extension "
        "indicates that caches MAY serve the response in which it appears after it becomes "
        "stale, up to the indicated number of seconds.",
        [Answer(headers=(_cc("max-age=2, stale-while-revalidate=30"),))],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=1, origin=(1, 2))),
        Wait(0.8),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "stale-while-revalidate-window", "stale-while-revalidate=1: not stale beyond its window",
        "RFC 5861 §3", "MUST",
        "... caches MAY serve the response in which it appears after it becomes stale, up to "
        "the indicated number of seconds (and no further: RFC 9111 §4.2.4, a cache MUST NOT "
        "generate a stale response unless ... explicitly permitted).",
        [Answer(headers=(_cc("max-age=2, stale-while-revalidate=1"),))],
        Send(Expect(served=1)),
        Wait(4.5),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "stale-if-error-500", "stale-if-error: stale served when the origin answers 500",
        "RFC 5861 §4", "MAY",
        "The stale-if-error Cache-Control extension indicates that when an error is "
        "encountered, a cached stale response MAY be used to satisfy the request, regardless of "
        "other freshness information.",
        [Answer(headers=(_cc("max-age=2, stale-if-error=60"),)), Answer(500)],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=1)),
    ),
    _case(
        "stale-if-error-down", "stale-if-error: stale served when the origin is unreachable",
        "RFC 5861 §4", "MAY",
        "In this context, an error is any situation that would result in a 500, 502, 503, or "
        "504 HTTP response status code being returned.",
        [Answer(headers=(_cc("max-age=2, stale-if-error=60"),)), Answer(fault="close")],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=1)),
    ),
    _case(
        "stale-if-error-window", "stale-if-error=1: the error is passed on after the window",
        "RFC 5861 §4", "SHOULD",
        "Its value indicates the upper limit to staleness; when the cached response is more "
        "stale than the indicated amount, the cached response SHOULD NOT be used to satisfy "
        "the request, absent other information.",
        [Answer(headers=(_cc("max-age=2, stale-if-error=1"),)), Answer(500)],
        Send(Expect(served=1)),
        Wait(4.5),
        Send(Expect(status=500, served=2)),
    ),
    # --- RFC 9213 -------------------------------------------------------------------------
    _case(
        "cdn-cache-control-fresh", "CDN-Cache-Control: max-age overrides Cache-Control: no-store",
        "RFC 9213 §2.1", "MAY",
        "When a cache that implements this specification receives a response with one or more "
        "CDN-Cache-Control header field lines, it MUST follow the directives in them and ignore "
        "Cache-Control.",
        [Answer(headers=(_cc("no-store"), ("CDN-Cache-Control", "max-age=60")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=1, origin=1)),
    ),
    _case(
        "cdn-cache-control-no-store", "CDN-Cache-Control: no-store overrides max-age",
        "RFC 9213 §2.1", "MAY",
        "When a cache that implements this specification receives a response with one or more "
        "CDN-Cache-Control header field lines, it MUST follow the directives in them and ignore "
        "Cache-Control.",
        [Answer(headers=(_cc("max-age=60"), ("CDN-Cache-Control", "no-store")))],
        Send(Expect(served=1)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    # --- request directives: RFC 9111 §5.2.1, §5.4 -----------------------------------------
    _case(
        "request-no-cache", "request Cache-Control: no-cache goes to the origin",
        "RFC 9111 §5.2.1.4", "SHOULD",
        "The no-cache request directive indicates that the client prefers a stored response "
        "not be used to satisfy the request without successful validation on the origin server.",
        [FRESH],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=2), headers=(_cc("no-cache"),)),
    ),
    _case(
        "request-max-age-0", "request max-age=0 goes to the origin", "RFC 9111 §5.2.1.1",
        "SHOULD",
        "The max-age request directive indicates that the client prefers a response whose age "
        "is less than or equal to the specified number of seconds.",
        [FRESH],
        Send(Expect(served=1)),
        Wait(1.2),
        Send(Expect(status=200, origin=2), headers=(_cc("max-age=0"),)),
    ),
    _case(
        "request-min-fresh", "request min-fresh beyond the lifetime goes to the origin",
        "RFC 9111 §5.2.1.3", "SHOULD",
        "The min-fresh request directive indicates that the client prefers a response whose "
        "freshness lifetime is no less than its current age plus the specified time in "
        "seconds.",
        [FRESH],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=2), headers=(_cc("min-fresh=120"),)),
    ),
    _case(
        "request-max-stale", "request max-stale accepts a stale response", "RFC 9111 §5.2.1.2",
        "MAY",
        "The max-stale request directive indicates that the client will accept a response "
        "that has exceeded its freshness lifetime.",
        [Answer(headers=(_cc("max-age=2"),))],
        Send(Expect(served=1)),
        Wait(PAST_SHORT),
        Send(Expect(status=200, served=1, origin=1), headers=(_cc("max-stale=60"),)),
    ),
    _case(
        "only-if-cached-504", "only-if-cached with nothing stored: 504", "RFC 9111 §5.2.1.7",
        "SHOULD",
        "If a cache receives a request containing this directive, it SHOULD either respond "
        "using a stored response that is consistent with the other constraints of the request "
        "message or respond with a 504 (Gateway Timeout) status code.",
        [FRESH],
        Send(Expect(status=504, origin=0), headers=(_cc("only-if-cached"),)),
    ),
    _case(
        "request-no-store", "request no-store: the response is not stored", "RFC 9111 §5.2.1.5",
        "MUST",
        "The no-store request directive indicates that a cache MUST NOT store any part of "
        "either this request or any response to it.",
        [FRESH],
        Send(Expect(served=1), headers=(_cc("no-store"),)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "pragma-no-cache", "Pragma: no-cache without Cache-Control goes to the origin",
        "RFC 9111 §5.4", "SHOULD",
        "When the Cache-Control header field is not present in a request, caches MUST consider "
        'the no-cache request pragma directive as having the same effect as if "Cache-Control: '
        'no-cache" were present.',
        [FRESH],
        Send(Expect(served=1)),
        Send(Expect(status=200, origin=2), headers=(("Pragma", "no-cache"),)),
    ),
    # --- methods, framing: RFC 9111 §4, §3.3; RFC 9112 §6.3 --------------------------------
    _case(
        "head-from-get", "HEAD answered from the stored GET", "RFC 9111 §4", "MAY",
        "... the request method associated with the stored response allows it to be used for "
        "the presented request (a stored GET response can answer HEAD, RFC 9110 §9.3.2).",
        [Answer(headers=(_cc("max-age=60"),), body=BODY_64)],
        Send(Expect(body=BODY_64)),
        Send(Expect(status=200, origin=1, body=b"", headers=(("content-length", "64"),)),
             method="HEAD"),
    ),
    _case(
        "truncated-not-stored", "a body shorter than Content-Length is never reused",
        "RFC 9111 §3.4", "MUST",
        "A cache MUST NOT use an incomplete response to answer requests unless the response "
        "has been made complete or the request is partial and specifies a range wholly within "
        "the incomplete response.",
        [Answer(headers=(_cc("max-age=60"),), fault="truncate"), FRESH],
        Send(Expect()),
        Wait(0.3),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "bad-content-length", "an invalid Content-Length: 502, nothing stored", "RFC 9112 §6.3",
        "MUST",
        "If it is in a response message received by a proxy, the proxy MUST close the "
        "connection to the server, discard the received response, and send a 502 (Bad Gateway) "
        "response to the client.",
        [Answer(headers=(_cc("max-age=60"),), fault="bad-length"), FRESH],
        Send(Expect(status=502)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
    _case(
        "conflicting-content-length", "two different Content-Lengths: 502", "RFC 9112 §6.3",
        "MUST",
        "If a message is received without Transfer-Encoding and with an invalid Content-Length "
        "header field, then the message framing is invalid and the recipient MUST treat it as "
        "an unrecoverable error ... the proxy MUST ... send a 502 (Bad Gateway) response.",
        [Answer(headers=(_cc("max-age=60"),), fault="two-lengths"), FRESH],
        Send(Expect(status=502)),
        Send(Expect(status=200, served=2, origin=2)),
    ),
)  # fmt: skip


def scripts(cases: Sequence[Case] = CASES) -> dict[str, tuple[Answer, ...]]:
    """The origin's scripts for ``cases``: ``ScriptedOrigin(scripts())``."""
    return {case.name: case.origin for case in cases}


# --- the client ---------------------------------------------------------------------------


async def exchange(
    host: str,
    port: int,
    method: str,
    target: str,
    headers: Pairs = (),
    body: bytes = b"",
    *,
    within_s: float = REPLY_TIMEOUT_S,
) -> Reply:
    """One request on a new connection; the reply, or ``Reply(0, ..., error=...)``."""
    fields = [("Host", HOST), *headers, ("Connection", "close")]
    if body or method in ("POST", "PUT", "PATCH"):
        fields.append(("Content-Length", str(len(body))))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields)
    try:
        async with asyncio.timeout(within_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(head.encode("latin-1") + b"\r\n" + body)
                await writer.drain()
                return await _read_reply(reader, method)
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
    except TimeoutError:
        return Reply(0, (), b"", f"no complete reply within {within_s:g} s")
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        return Reply(0, (), b"", f"{type(error).__name__}: {error}")


async def _read_reply(reader: asyncio.StreamReader, method: str) -> Reply:
    while True:  # 1xx interim answers are skipped
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        if not 100 <= status < 200:
            break
    headers = tuple(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    )
    reply = Reply(status, headers, b"")
    if method == "HEAD" or status in (204, 304):
        return reply
    if "chunked" in (reply.get("transfer-encoding") or "").lower():
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are expected
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return Reply(status, headers, bytes(body))
    length = reply.get("content-length")
    if length is not None:
        try:
            return Reply(status, headers, await reader.readexactly(int(length)))
        except asyncio.IncompleteReadError as error:
            return Reply(status, headers, error.partial, "body shorter than its Content-Length")
    return Reply(status, headers, await reader.read())


# --- the runner ---------------------------------------------------------------------------


def _count_ok(count: Count, seen: int) -> bool:
    low, high = (count, count) if isinstance(count, int) else count
    return low <= seen <= high


def _check(expect: Expect, reply: Reply, origin: list[Seen]) -> str:
    """The first failed check, said in a sentence; "" when all hold."""
    if reply.error and (expect.status is not None or expect.served or expect.body is not None):
        return f"no complete reply: {reply.error} (status {reply.status})"
    if expect.status is not None:
        wanted = (expect.status,) if isinstance(expect.status, int) else expect.status
        if reply.status not in wanted:
            return f"status {reply.status}, expected {' or '.join(map(str, wanted))}"
    if expect.origin is not None and not _count_ok(expect.origin, len(origin)):
        return f"the origin got {len(origin)} requests, expected {expect.origin}"
    if expect.served is not None:
        served = served_answer(reply.body)
        if served != expect.served:
            what = f"answer {served}" if served else f"body {reply.body[:40]!r}"
            return f"served {what}, expected the origin's answer {expect.served}"
    if expect.body is not None and reply.body != expect.body:
        return f"body {reply.body[:40]!r} ({len(reply.body)} bytes), expected {expect.body[:40]!r}"
    for name, value in expect.headers:
        if reply.get(name) != value:
            return f"{name}: {reply.get(name)!r}, expected {value!r}"
    for name in expect.absent:
        if reply.get(name) is not None:
            return f"{name} present ({reply.get(name)!r}), expected absent"
    for name in expect.present:
        if reply.get(name) is None:
            return f"{name} absent, expected present"
    if expect.age_at_least is not None or expect.age_below is not None:
        age = reply.get("age")
        if age is None or not age.isdigit():
            return f"Age {age!r}, expected a number of seconds"
        if expect.age_at_least is not None and int(age) < expect.age_at_least:
            return f"Age {age}, expected at least {expect.age_at_least}"
        if expect.age_below is not None and int(age) >= expect.age_below:
            return f"Age {age}, expected below {expect.age_below}"
    if expect.origin_saw:
        if not origin:
            return "the origin got no request"
        latest = origin[-1]
        for name, value in expect.origin_saw:
            got = latest.get(name)
            if got is None or (value and got != value):
                return f"the origin's request #{latest.number} had {name}: {got!r}, expected {value or 'one'!r}"
    return ""


async def run_case(
    host: str, port: int, case: Case, seen: Callable[[str], list[Seen]]
) -> CaseResult:
    """Run one case against the cache at ``host:port``; ``seen(name)`` reads the origin's log."""
    started = time.monotonic()
    reason = ""
    for number, step in enumerate(case.steps, 1):
        if isinstance(step, Wait):
            await asyncio.sleep(step.seconds)
            continue
        now = time.time()
        headers = tuple((n, expand_dates(v, now)) for n, v in step.headers)
        target = f"/c/{case.name}/{step.path}"
        reply = await exchange(host, port, step.method, target, headers, step.body)
        failed = _check(step.expect, reply, seen(case.name))
        if failed:
            reason = f"step {number} ({step.method} {target}): {failed}"
            break
    return CaseResult(
        case.name, case.title, case.section, case.level, not reason, reason,
        time.monotonic() - started,
    )  # fmt: skip


async def run_conformance_async(
    base_url: str,
    origin: ScriptedOrigin,
    cases: Sequence[Case] = CASES,
    *,
    concurrency: int = CONCURRENCY,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Every case against the cache at ``base_url`` (whose origin is ``origin``), in case order."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> CaseResult:
        async with gate:
            result = await run_case(host, port, case, origin.seen)
        if on_result is not None:
            on_result(result)
        return result

    # The slowest cases first, so that the sleeps overlap.
    order = sorted(cases, key=lambda case: -case.seconds)
    results = {r.name: r for r in await asyncio.gather(*(one(case) for case in order))}
    return [results[case.name] for case in cases]


def run_conformance(
    base_url: str,
    origin: ScriptedOrigin,
    cases: Sequence[Case] = CASES,
    *,
    concurrency: int = CONCURRENCY,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """:func:`run_conformance_async` from synchronous code."""
    return asyncio.run(
        run_conformance_async(base_url, origin, cases, concurrency=concurrency, on_result=on_result)
    )
