"""Retries need the request again and nothing of the answer sent: kept bodies are replayed,
streamed ones are not once a byte went out, and a started response is never retried."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from lb_support import Head, Scripted, balancing, read_body

from millionscale.lb.settings import REPLAY_BYTES
from millionscale.servers.server import free_port

pytestmark = pytest.mark.integration

SMALL = b"k" * (REPLAY_BYTES // 2)
LARGE = b"s" * (REPLAY_BYTES * 16)


async def _busy(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_body(reader, head)
    writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy")
    await writer.drain()


async def _fine(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = await read_body(reader, head)
    answer = b"fine %d" % len(body)
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(answer), answer))
    await writer.drain()


async def _put_until_busy_was_tried(port: int, busy: Scripted, body: bytes) -> list[httpx.Response]:
    replies = []
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(40):  # until the busy backend got some
            replies.append(await client.put(f"http://127.0.0.1:{port}/photo", content=body))
            if busy.served() >= 3:
                break
    return replies


def test_a_kept_body_is_sent_again_after_a_503_and_the_503_never_reaches_the_client():
    async def scenario() -> tuple[list[httpx.Response], int]:
        busy, fine = Scripted("busy", _busy), Scripted("fine", _fine)
        # Round-robin, so the busy backend gets every other request: p2c-ewma would
        # stop picking it after its first 503 (a failure weighs as a slow answer).
        async with balancing([busy, fine], policy="round-robin") as (balancer, port):
            replies = await _put_until_busy_was_tried(port, busy, SMALL)
            return replies, balancer.retries.statistics().retries

    replies, retries = asyncio.run(scenario())

    assert {(r.status_code, r.content) for r in replies} == {(200, b"fine %d" % len(SMALL))}
    assert retries >= 3


def test_a_streamed_body_is_not_sent_again_once_a_byte_of_it_went_out():
    async def scenario() -> tuple[list[httpx.Response], int, int]:
        busy, fine = Scripted("busy", _busy), Scripted("fine", _fine)
        # Round-robin, so the busy backend gets every other request: p2c-ewma would
        # stop picking it after its first 503 (a failure weighs as a slow answer).
        async with balancing([busy, fine], policy="round-robin") as (balancer, port):
            replies = await _put_until_busy_was_tried(port, busy, LARGE)
            attempts = busy.served() + fine.served()
            return replies, attempts, balancer.retries.statistics().retries

    replies, attempts, retries = asyncio.run(scenario())

    statuses = [r.status_code for r in replies]
    assert statuses.count(503) == 3  # the busy backend's own answer, relayed
    assert {r.content for r in replies if r.status_code == 503} == {b"busy"}
    assert attempts == len(replies)  # one attempt each
    assert retries == 0


def test_a_streamed_body_is_sent_elsewhere_when_the_connection_failed_before_it():
    async def scenario() -> tuple[list[int], int]:
        fine = Scripted("fine", _fine)
        gone = free_port()  # nothing listens there
        async with balancing([fine], policy="round-robin") as (balancer, port):
            statuses = []
            async with httpx.AsyncClient(timeout=10) as client:
                for _ in range(6):
                    # Serving again (its checks would take it out): every other request
                    # goes there first, per round-robin.
                    if "gone" in balancer.backends:
                        balancer.remove("gone")
                    balancer.add("gone", "127.0.0.1", gone, initial=True)
                    reply = await client.put(f"http://127.0.0.1:{port}/photo", content=LARGE)
                    statuses.append(reply.status_code)
            return statuses, balancer.retries.statistics().retries

    statuses, retries = asyncio.run(scenario())

    assert statuses == [200] * 6
    assert retries >= 2  # the connect failures were retried, body and all


def test_a_response_that_started_is_never_retried():
    async def dies(head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nthe first bytes")
        await writer.drain()
        writer.transport.abort()

    async def scenario() -> tuple[str, int, int]:
        backend = Scripted("web-1", dies)
        async with balancing([backend]) as (balancer, port), httpx.AsyncClient() as client:
            try:
                await client.get(f"http://127.0.0.1:{port}/")
                outcome = "complete"
            except httpx.RemoteProtocolError:
                outcome = "cut"
            await asyncio.sleep(0.1)
            return outcome, backend.served(), balancer.retries.statistics().retries

    outcome, attempts, retries = asyncio.run(scenario())

    assert outcome == "cut"  # the client can tell the body is incomplete
    assert attempts == 1
    assert retries == 0
