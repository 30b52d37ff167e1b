"""A scripted HTTP origin: answers chosen by the request path, every request recorded.

For testing caches (our CDN edge, Varnish, nginx) at the HTTP level. The
origin serves many independent *scripts* at once, one per path prefix
``/c/<name>/``: the n-th request under a script's prefix (any method, any
rest of the path) gets the script's n-th :class:`Answer` (the last one
repeats), and is recorded as a :class:`Seen` with its method, target and
header fields, so that a test can ask "was the origin contacted again, and
with which validators?". ``/ready`` answers ``200`` with ``no-store``, for
readiness probes through a cache.

An answer can be a fault instead of a response (RFC 9112 §6.3 framing errors
that a cache must never store): ``"close"`` (the connection closed without an
answer), ``"truncate"`` (fewer body bytes than Content-Length, then close),
``"bad-length"`` (an invalid Content-Length), ``"two-lengths"`` (two different
Content-Length values).

Header values may carry ``{date}``, ``{date+N}`` or ``{date-N}``: the HTTP
date of the moment of answering, plus or minus N seconds (an ``Expires`` 2 s
ahead, a ``Last-Modified`` ten days back). Every answer carries ``Date``
unless it sets one. The default body is ``answer N of NAME``, so a test can
tell which of the origin's answers a cache served (:func:`served_answer`).

It runs its own asyncio loop in a thread, so that synchronous code (a bench, a
pytest test starting Varnish) and asynchronous clients can both use it; it
binds port 0 on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Answer", "ScriptedOrigin", "Seen", "expand_dates", "served_answer"]

Fault = Literal["", "close", "truncate", "bad-length", "two-lengths"]
HeaderPairs = tuple[tuple[str, str], ...]

PREFIX = "/c/"
READY_PATH = "/ready"
MAX_HEAD_BYTES = (
    65536  # a request head larger than this is refused (as nginx's 64 KiB large buffers)
)
START_TIMEOUT_S = 5.0
_DATE = re.compile(r"\{date(?:([+-])(\d+))?\}")
_SERVED = re.compile(rb"answer (\d+) of ")
_REASONS = {200: "OK", 206: "Partial Content", 302: "Found", 304: "Not Modified",
            404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer:
    """What the origin sends for one request of a script.

    ``on_conditional``, when set, is sent instead if the request carries
    ``If-None-Match`` or ``If-Modified-Since`` (a 304 for a revalidation,
    while a plain request still gets the full answer). ``delay_s`` waits
    before answering.
    """

    status: int = 200
    headers: HeaderPairs = ()
    body: bytes | None = None  # None: b"answer N of NAME"
    fault: Fault = ""
    on_conditional: Answer | None = None
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the origin received: for which script, its number there (from 1), its head."""

    script: str
    number: int
    method: str
    target: str
    headers: HeaderPairs  # names lower-case, in order
    at: float  # time.monotonic() on arrival

    def get(self, name: str) -> str | None:
        """The first value of the (lower-case) field ``name``, or None."""
        return next((value for key, value in self.headers if key == name), None)


def served_answer(body: bytes) -> int | None:
    """Which of the origin's answers a default body is (``answer N of ...`` -> N), or None."""
    found = _SERVED.match(body)
    return int(found.group(1)) if found else None


def expand_dates(value: str, now: float) -> str:
    """``value`` with each ``{date}``, ``{date+N}``, ``{date-N}`` replaced by that HTTP date."""

    def date(found: re.Match[str]) -> str:
        offset = int(found.group(2) or 0) * (-1 if found.group(1) == "-" else 1)
        return email.utils.formatdate(now + offset, usegmt=True)

    return _DATE.sub(date, value)


@dataclass
class ScriptedOrigin:
    """The origin for ``scripts`` (name -> answers in order); use it as a ``with`` block.

    ``port`` is known once the block is entered. :meth:`seen` is thread-safe.
    """

    scripts: Mapping[str, Sequence[Answer]]
    host: str = "127.0.0.1"
    port: int = 0
    _seen: dict[str, list[Seen]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def seen(self, script: str) -> list[Seen]:
        """Every request the origin got for ``script`` so far, in order of arrival."""
        with self._lock:
            return list(self._seen.get(script, ()))

    def count(self, script: str) -> int:
        with self._lock:
            return len(self._seen.get(script, ()))

    def __enter__(self) -> ScriptedOrigin:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._serve(started))
            except BaseException as error:  # reported to the thread that waits
                failure.append(error)
                started.set()

        self._thread = threading.Thread(target=run, name="scripted-origin", daemon=True)
        self._thread.start()
        if not started.wait(START_TIMEOUT_S) or failure:
            raise RuntimeError(f"the scripted origin did not start: {failure!r}")
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)

    async def _serve(self, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await self._stop.wait()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError
        ):
            while await self._one(reader, writer):
                pass
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = [*lines[0].split(" "), "", ""][:3]
        headers = tuple(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        )
        length = next((value for name, value in headers if name == "content-length"), "0")
        if length.isdigit() and int(length):
            await reader.readexactly(int(length))
        if not target.startswith(PREFIX):
            status = 200 if target == READY_PATH else 404
            await self._write(writer, method, status, (("cache-control", "no-store"),), b"ready\n")
            return True
        name = target[len(PREFIX) :].split("/", 1)[0].split("?", 1)[0]
        with self._lock:
            seen = self._seen.setdefault(name, [])
            number = len(seen) + 1
            seen.append(Seen(name, number, method, target, headers, time.monotonic()))
        answers = self.scripts.get(name)
        if not answers:
            await self._write(writer, method, 404, (("cache-control", "no-store"),), b"no script\n")
            return True
        answer = answers[min(number, len(answers)) - 1]
        conditional = any(n in ("if-none-match", "if-modified-since") for n, _ in headers)
        if conditional and answer.on_conditional is not None:
            answer = answer.on_conditional
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        if answer.fault == "close":
            return False
        body = answer.body if answer.body is not None else f"answer {number} of {name}".encode()
        await self._write(writer, method, answer.status, answer.headers, body, answer.fault)
        return not answer.fault

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        method: str,
        status: int,
        headers: HeaderPairs,
        body: bytes,
        fault: Fault = "",
    ) -> None:
        now = time.time()
        fields = [(name, expand_dates(value, now)) for name, value in headers]
        if not any(name.lower() == "date" for name, _ in fields):
            fields.insert(0, ("Date", expand_dates("{date}", now)))
        bodiless = status == 304 or status < 200 or status == 204
        if not bodiless:
            length = {"truncate": str(len(body) + 100), "bad-length": f"{len(body)}x"}.get(
                fault, str(len(body))
            )
            fields.append(("Content-Length", length))
            if fault == "two-lengths":
                fields.append(("Content-Length", str(len(body) + 1)))
        reason = _REASONS.get(status, "Whatever")
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields)
        payload = head.encode("latin-1") + b"\r\n"
        if method != "HEAD" and not bodiless:
            payload += body
        writer.write(payload)
        await writer.drain()
