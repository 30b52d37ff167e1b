"""Header fields pass through as sent, but for hop-by-hop ones; forwarding fields are added."""

from __future__ import annotations

import asyncio

import pytest
from lb_support import LOOPS, Head, Scripted, balancing, run_on

pytestmark = pytest.mark.integration

HOP_BY_HOP_REQUEST = (
    b"GET /photos?id=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Connection: keep-alive, X-Secret\r\n"
    b"Keep-Alive: timeout=5\r\n"
    b"TE: trailers\r\n"
    b"Trailer: X-Checksum\r\n"
    b"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
    b"X-Secret: for the balancer only\r\n"
    b"X-Forwarded-Proto: https\r\n"
    b"X-Forwarded-For: 203.0.113.7\r\n"
    b"accept-LANGUAGE: fr\r\n"
    b"\r\n"
)


async def _ok(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/plain\r\n"
        b"Connection: keep-alive, X-Internal\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"X-Internal: backend detail\r\n"
        b"Proxy-Authenticate: Basic\r\n"
        b"Content-Length: 2\r\n"
        b"\r\nok"
    )
    await writer.drain()


async def _ask(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        async with asyncio.timeout(5):
            return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()


def _names(raw: bytes) -> list[bytes]:
    return [line.split(b":")[0].lower() for line in raw.split(b"\r\n")[1:] if line]


@pytest.mark.parametrize("loop", LOOPS)
def test_hop_by_hop_request_fields_are_removed_and_forwarding_fields_added(loop):
    async def scenario() -> tuple[Head, bytes]:
        backend = Scripted("web-1", _ok)
        async with balancing([backend]) as (_, port):
            answer = await _ask(port, HOP_BY_HOP_REQUEST)
        return backend.heads[0], answer

    head, answer = run_on(loop, scenario())

    names = _names(head.raw)
    for gone in (b"connection", b"keep-alive", b"te", b"trailer", b"proxy-authorization"):
        assert gone not in names
    assert b"x-secret" not in names  # named by Connection
    assert head.line == b"GET /photos?id=1 HTTP/1.1"
    assert head.headers[b"host"] == b"example.com"
    assert b"accept-LANGUAGE: fr\r\n" in head.raw  # passed as sent
    assert head.headers[b"x-forwarded-for"] == b"203.0.113.7, 127.0.0.1"
    assert head.headers[b"x-forwarded-proto"] == b"http"  # the client's claim replaced
    assert names.count(b"x-forwarded-proto") == 1
    assert head.headers[b"x-request-id"]
    assert b"x-request-id: " + head.headers[b"x-request-id"] in answer.lower()


@pytest.mark.parametrize("loop", LOOPS)
def test_a_request_with_nothing_to_remove_passes_byte_for_byte(loop):
    request = (
        b"POST /api/v1/photos HTTP/1.1\r\nHost: a\r\nx-CuStOm:  two  spaces \r\n"
        b"Accept: */*\r\nContent-Length: 0\r\n\r\n"
    )

    async def scenario() -> Head:
        backend = Scripted("web-1", _ok)
        async with balancing([backend]) as (_, port):
            await _ask(port, request)
        return backend.heads[0]

    head = run_on(loop, scenario())

    sent_fields = request.split(b"\r\n", 1)[1][:-2]
    assert head.raw.startswith(b"POST /api/v1/photos HTTP/1.1\r\n" + sent_fields)
    assert _names(head.raw)[-3:] == [b"x-forwarded-for", b"x-forwarded-proto", b"x-request-id"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (b"4bf92f3577b34da6a3ce929d0e0e4736", True),
        (b"not well formed", False),
        (b"x" * 200, False),
    ],
)
def test_a_well_formed_request_id_is_kept_and_returned(sent, kept):
    request = b"GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: " + sent + b"\r\n\r\n"

    async def scenario() -> tuple[Head, bytes]:
        backend = Scripted("web-1", _ok)
        async with balancing([backend]) as (_, port):
            answer = await _ask(port, request)
        return backend.heads[0], answer

    head, answer = asyncio.run(scenario())

    forwarded = head.headers[b"x-request-id"]
    assert (forwarded == sent) is kept
    assert _names(head.raw).count(b"x-request-id") == 1
    assert b"x-request-id: " + forwarded + b"\r\n" in answer


@pytest.mark.parametrize("loop", LOOPS)
def test_hop_by_hop_response_fields_are_removed_and_the_request_id_added(loop):
    async def scenario() -> bytes:
        backend = Scripted("web-1", _ok)
        async with balancing([backend]) as (_, port):
            return await _ask(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")

    answer = run_on(loop, scenario())

    names = _names(answer)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    for gone in (b"connection", b"keep-alive", b"x-internal", b"proxy-authenticate"):
        assert gone not in names
    assert b"Content-Type: text/plain\r\n" in answer
    assert b"Content-Length: 2\r\n" in answer
    assert b"x-request-id" in names


def test_an_upgrade_is_forwarded_as_a_plain_request_and_ends_the_connection():
    request = (
        b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        b"not http at all"
    )

    async def scenario() -> tuple[Head, bytes]:
        backend = Scripted("web-1", _ok)
        async with balancing([backend]) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            async with asyncio.timeout(5):
                answer = await reader.read(-1)  # then closed
            writer.close()
        return backend.heads[0], answer

    head, answer = asyncio.run(scenario())

    assert b"upgrade" not in _names(head.raw)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"connection: close" in answer.lower()
    assert answer.count(b"HTTP/1.1") == 1  # the bytes after it were not taken as a request
