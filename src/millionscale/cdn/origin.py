"""The edge's client for its origin (or its shield): one HTTP/1.1 pool, bounded waits.

:class:`Origin` sends one request and gives back either an :class:`Fetched`
(the response head, and its body read whole up to ``max_object_bytes``) or an
:class:`OriginFailure` (what the edge answers instead), never an exception
and never a hang:

- **Framing.** httpx reads the response with h11, which refuses what RFC 9112
  calls unrecoverable (§6.3: an invalid or repeated ``Content-Length``, a
  body cut short of its length, a status line that is not one): each is a
  ``502`` failure, and nothing of it is stored.
- **Time.** A connect gets ``connect_timeout_s`` (then ``504``), each read
  ``read_timeout_s`` (``504``); a refused connection is ``502`` at once. The
  pool wait is bounded by the connect timeout.
- **Fields.** The request goes with its ``Host`` as the client sent it, the
  hop-by-hop fields (RFC 9110 §7.6.1) and those ``Connection`` names dropped,
  ``Via`` (§7.6.3) and ``X-Forwarded-For`` added. The response's fields come
  back lower-cased, framing fields included (the rules check
  ``Content-Length`` against the body).
- **Big bodies.** A body over ``max_object_bytes`` is not read whole:
  :attr:`Fetched.rest` streams what follows the first part, and the caller
  must :meth:`Fetched.aclose` it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import httpx

from millionscale.cdn.message import Fields, Response
from millionscale.lb.headers import HOP_BY_HOP, connection_tokens

__all__ = ["Fetched", "Origin", "OriginFailure"]

# Besides the hop-by-hop fields: framing is the client library's (it frames the body it
# sends), Expect is answered by the edge's connection, X-Forwarded-For is rebuilt.
_DROP = frozenset({b"content-length", b"transfer-encoding", b"expect", b"x-forwarded-for"})
_READ_BYTES = 64 * 1024  # httpx's own read size for a response body


@dataclass(frozen=True, slots=True)
class OriginFailure:
    """No usable response: ``status`` is what the edge answers (502 or 504)."""

    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """One origin response: its head, its body (whole unless ``rest``), and when.

    ``request_time`` and ``response_time`` are the clock's, taken when the
    request was sent and when the head came back (RFC 9111 §4.2.3).
    """

    response: Response
    body: bytes
    request_time: float
    response_time: float
    rest: AsyncIterator[bytes] | None = None
    handle: httpx.Response | None = None

    async def aclose(self) -> None:
        """Release the origin connection of a streamed body (a no-op otherwise)."""
        if self.handle is not None:
            await self.handle.aclose()


class Origin:
    """A pooled client of one origin base URL (see the module's docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_connections: int,
        max_object_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.via = b"1.1 " + name.encode("ascii", "replace")
        self.max_object_bytes = max_object_bytes
        self.clock = clock
        timeout = httpx.Timeout(
            connect=connect_timeout_s,
            read=read_timeout_s,
            write=read_timeout_s,
            pool=connect_timeout_s,
        )
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=4.0,  # below uvicorn's 5 s keep-alive, as the balancer's pool
        )
        self._client = httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)

    def request_fields(
        self, fields: Fields, peer: bytes, *, drop: frozenset[bytes] = frozenset()
    ) -> list[tuple[bytes, bytes]]:
        """The fields to send for a client request with ``fields`` from ``peer``."""
        named: frozenset[bytes] = frozenset()
        xff: bytes | None = None
        via: bytes | None = None
        for name, value in fields:
            if name == b"connection":
                named = named | connection_tokens(value)[2]
            elif name == b"x-forwarded-for":
                xff = value if xff is None else xff + b", " + value
            elif name == b"via":
                via = value if via is None else via + b", " + value
        out = [
            (name, value)
            for name, value in fields
            if name not in HOP_BY_HOP
            and name not in _DROP
            and name not in named
            and name not in drop
            and name != b"via"
            and not name.startswith(b"proxy-")
        ]
        out.append((b"via", self.via if via is None else via + b", " + self.via))
        if peer:
            out.append((b"x-forwarded-for", peer if xff is None else xff + b", " + peer))
        return out

    async def fetch(
        self, method: str, target: bytes, fields: Sequence[tuple[bytes, bytes]], body: bytes = b""
    ) -> Fetched | OriginFailure:
        """Send one request (``fields`` as :meth:`request_fields` made them)."""
        url = self.base_url + target.decode("latin-1")
        request_time = self.clock()
        try:
            request = self._client.build_request(
                method, url, headers=list(fields), content=body or None
            )
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as error:
            return OriginFailure(504, f"origin: no answer in time ({type(error).__name__})")
        except httpx.ConnectError as error:
            return OriginFailure(502, f"origin: cannot connect ({error})")
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            return OriginFailure(502, f"origin: bad response ({type(error).__name__}: {error})")
        response_time = self.clock()
        head = Response(
            response.status_code,
            tuple((name.lower(), value.strip(b" \t")) for name, value in response.headers.raw),
        )
        chunks: list[bytes] = []
        size = 0
        stream = response.aiter_raw(_READ_BYTES)
        try:
            async for chunk in stream:
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_object_bytes:
                    return Fetched(
                        head, b"".join(chunks), request_time, response_time, stream, response
                    )
        except httpx.TimeoutException:
            await response.aclose()
            return OriginFailure(504, "origin: the body stalled")
        except (httpx.HTTPError, ValueError) as error:
            await response.aclose()
            return OriginFailure(502, f"origin: bad response body ({type(error).__name__})")
        await response.aclose()
        return Fetched(head, b"".join(chunks), request_time, response_time)

    async def aclose(self) -> None:
        await self._client.aclose()
