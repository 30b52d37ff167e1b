"""Bodies stream through the balancer both ways, with backpressure, and keep their framing."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import pytest
from lb_support import LOOPS, Head, Scripted, balancing, read_body, run_on

from millionscale.lb.limits import HttpLimits

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
BIG = HttpLimits(max_body_bytes=256 * MIB)
# What the kernel may hold between a stalled client and the backend on loopback (socket
# buffers autotune to a few MiB each, four of them); the balancer's own buffers are
# ~64 KiB a side. A balancer that buffered bodies whole would let through everything.
IN_FLIGHT_MOST = 48 * MIB


async def _digest(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = await read_body(reader, head)
    answer = json.dumps({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(answer), answer.encode())
    )
    await writer.drain()


def _payload(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_large_upload_reaches_the_backend_whole(loop):
    body = _payload(8 * MIB + 3)

    async def scenario() -> dict[str, object]:
        backend = Scripted("web-1", _digest)
        async with balancing([backend]) as (_, port), httpx.AsyncClient(timeout=30) as client:
            reply = await client.put(f"http://127.0.0.1:{port}/upload", content=body)
        assert reply.status_code == 200
        return reply.json()

    echoed = run_on(loop, scenario())

    assert echoed == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


@pytest.mark.parametrize("loop", LOOPS)
def test_a_chunked_upload_is_relayed_chunked(loop):
    pieces = [_payload(size) for size in (1, 70_000, 5, 300_000)]

    async def scenario() -> tuple[dict[str, object], Head]:
        async def stream():
            for piece in pieces:
                yield piece
                await asyncio.sleep(0.01)

        backend = Scripted("web-1", _digest)
        async with balancing([backend]) as (_, port), httpx.AsyncClient(timeout=30) as client:
            reply = await client.post(f"http://127.0.0.1:{port}/upload", content=stream())
        return reply.json(), backend.heads[0]

    echoed, head = run_on(loop, scenario())

    whole = b"".join(pieces)
    assert echoed == {"length": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}
    assert head.headers[b"transfer-encoding"] == b"chunked"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_large_download_reaches_the_client_whole(loop):
    body = _payload(32 * MIB + 7)

    async def send(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()

    async def scenario() -> tuple[int, str]:
        backend = Scripted("web-1", send)
        async with balancing([backend]) as (_, port), httpx.AsyncClient(timeout=30) as client:
            reply = await client.get(f"http://127.0.0.1:{port}/big")
        return len(reply.content), hashlib.sha256(reply.content).hexdigest()

    length, digest = run_on(loop, scenario())

    assert (length, digest) == (len(body), hashlib.sha256(body).hexdigest())


@pytest.mark.parametrize("loop", LOOPS)
def test_a_client_that_does_not_read_holds_the_backend_back(loop):
    total = 160 * MIB
    piece = _payload(256 * 1024)
    sent = 0

    async def send(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % total)
        while sent < total:
            writer.write(piece)
            await writer.drain()  # blocks while the balancer does not read
            sent += len(piece)

    async def scenario() -> tuple[int, int]:
        backend = Scripted("web-1", send)
        async with balancing([backend]) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MIB)
            writer.write(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
            await asyncio.sleep(1.5)  # the client reads nothing meanwhile
            while_stalled = sent
            head = await reader.readuntil(b"\r\n\r\n")
            received = 0
            while received < total:
                received += len(await reader.read(MIB))
            writer.close()
            assert head.startswith(b"HTTP/1.1 200")
            return while_stalled, received

    while_stalled, received = run_on(loop, scenario())

    assert while_stalled < IN_FLIGHT_MOST, while_stalled
    assert received == total


@pytest.mark.parametrize("loop", LOOPS)
def test_a_backend_that_does_not_read_holds_the_client_back(loop):
    total = 160 * MIB
    piece = _payload(256 * 1024)
    sent = 0

    async def late(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.5)  # reads nothing meanwhile
        await _digest(head, reader, writer)

    async def scenario() -> tuple[int, bytes]:
        nonlocal sent
        backend = Scripted("web-1", late)
        async with balancing([backend], limits=BIG) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"PUT /upload HTTP/1.1\r\nHost: a\r\ncontent-length: %d\r\n\r\n" % total)

            async def upload() -> None:
                nonlocal sent
                while sent < total:
                    writer.write(piece)
                    await writer.drain()  # blocks while the balancer does not read
                    sent += len(piece)

            uploading = asyncio.create_task(upload())
            await asyncio.sleep(1.2)
            while_stalled = sent
            await uploading
            answer = await reader.readuntil(b"}")
            writer.close()
            return while_stalled, answer

    while_stalled, answer = run_on(loop, scenario())

    assert while_stalled < IN_FLIGHT_MOST, while_stalled
    assert b'"length": %d' % total in answer


async def _chunked(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for word in (b"stream", b"ing ", b"works"):
        writer.write(b"%x\r\n%b\r\n" % (len(word), word))
        await writer.drain()
        await asyncio.sleep(0.02)
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _unsized(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
    await writer.drain()
    writer.close()


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        async with asyncio.timeout(5):
            return await reader.read(-1) if b"HTTP/1.0" in request else await _one_reply(reader)
    finally:
        writer.close()


async def _one_reply(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return head
    body = await reader.readuntil(b"\r\n0\r\n\r\n")
    return head + body


@pytest.mark.parametrize("script", [_chunked, _unsized], ids=["chunked", "close-delimited"])
def test_a_response_of_unknown_length_is_relayed_chunked_to_an_http11_client(script):
    async def scenario() -> tuple[bytes, str]:
        backend = Scripted("web-1", script)
        async with balancing([backend]) as (_, port), httpx.AsyncClient() as client:
            answer = await _exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            decoded = (await client.get(f"http://127.0.0.1:{port}/")).text
        return answer, decoded

    answer, decoded = asyncio.run(scenario())

    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body.endswith(b"0\r\n\r\n")
    assert decoded in ("streaming works", "until the end")


@pytest.mark.parametrize("script", [_chunked, _unsized], ids=["chunked", "close-delimited"])
def test_a_response_of_unknown_length_goes_to_an_http10_client_until_close(script):
    async def scenario() -> bytes:
        backend = Scripted("web-1", script)
        async with balancing([backend]) as (_, port):
            return await _exchange(port, b"GET / HTTP/1.0\r\n\r\n")

    answer = asyncio.run(scenario())

    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body in (b"streaming works", b"until the end")


@pytest.mark.parametrize(
    ("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304)], ids=["HEAD", "204", "304"]
)
def test_answers_without_a_body_keep_the_connection_for_the_next_request(method, status):
    async def bodiless(
        head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if head.target == b"/next":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nnext")
        else:  # the length a GET would have, and no body
            writer.write(b"HTTP/1.1 %d X\r\ncontent-length: 100\r\n\r\n" % status)
        await writer.drain()

    async def scenario() -> tuple[bytes, bytes]:
        backend = Scripted("web-1", bodiless)
        async with balancing([backend]) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"%s / HTTP/1.1\r\nHost: a\r\n\r\n" % method.encode())
            first = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            async with asyncio.timeout(5):
                second = await reader.readuntil(b"next")
            writer.close()
            return first, second

    first, second = asyncio.run(scenario())

    assert first.startswith(b"HTTP/1.1 %d" % status)
    assert second.startswith(b"HTTP/1.1 200")  # nothing of a body came between the two


def test_a_client_expecting_100_continue_gets_it_from_the_balancer():
    async def scenario() -> tuple[bytes, bytes, Head]:
        backend = Scripted("web-1", _digest)
        async with balancing([backend]) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            async with asyncio.timeout(5):
                interim = await reader.readuntil(b"\r\n\r\n")  # before the body is sent
                writer.write(b"hello")
                answer = await reader.readuntil(b"}")
            writer.close()
        return interim, answer, backend.heads[0]

    interim, answer, head = asyncio.run(scenario())

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert b'"length": 5' in answer
    assert b"expect" not in head.headers  # answered here, not forwarded


def test_a_body_that_stalls_gets_408_and_never_reaches_a_backend():
    limits = HttpLimits(idle_timeout_s=0.5)

    async def scenario() -> tuple[bytes, int]:
        backend = Scripted("web-1", _digest)
        async with balancing([backend], limits=limits) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf")
            async with asyncio.timeout(5):
                answer = await reader.read(-1)
            writer.close()
        return answer, backend.served()

    answer, served = asyncio.run(scenario())

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"connection: close" in answer
    assert served == 0
