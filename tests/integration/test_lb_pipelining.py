"""Pipelined requests are answered in order, one at a time, or refused cleanly."""

from __future__ import annotations

import asyncio
import json

import pytest
from lb_support import LOOPS, Echo, balancing, run_on, status_of

from millionscale.lb.limits import MAX_PIPELINED

pytestmark = pytest.mark.integration


def _get(path: bytes, *, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n" + connection + b"\r\n"


def _answers(data: bytes) -> list[tuple[int | None, dict[str, object]]]:
    """Each answer's status and JSON body, in order (sized bodies only)."""
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body, data = rest[:length], rest[length:]
        answers.append((status_of(head), json.loads(body)))
    return answers


async def _send_all(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        async with asyncio.timeout(10):
            return await reader.read(-1)
    finally:
        writer.close()


@pytest.mark.parametrize("loop", LOOPS)
def test_pipelined_requests_are_answered_in_the_order_sent(loop):
    slow_first = Echo("web-1", delay_s=0.05)  # the first answer is the slowest to come

    async def scenario() -> bytes:
        async with balancing([slow_first]) as (_, port):
            return await _send_all(port, _get(b"/a") + _get(b"/b") + _get(b"/c", close=True))

    answers = _answers(run_on(loop, scenario()))

    assert [(status, body["target"]) for status, body in answers] == [
        (200, "/a"),
        (200, "/b"),
        (200, "/c"),
    ]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_refusal_behind_pipelined_requests_comes_after_their_answers(loop):
    backend = Echo("web-1")

    async def scenario() -> tuple[bytes, int]:
        async with balancing([backend]) as (_, port):
            answer = await _send_all(port, _get(b"/a") + _get(b"/b") + b"NOT HTTP\r\n\r\n")
            return answer, backend.served()

    answer, served = run_on(loop, scenario())

    answers = _answers(answer)
    assert [status for status, _ in answers] == [200, 200, 400]
    assert [body.get("target") for _, body in answers[:2]] == ["/a", "/b"]
    assert served == 2


def test_past_the_pipelining_limit_the_connection_closes_after_the_answers_held():
    backend = Echo("web-1")
    sent = MAX_PIPELINED * 3

    async def scenario() -> bytes:
        async with balancing([backend]) as (_, port):
            requests = b"".join(_get(b"/%d" % i) for i in range(sent))
            return await _send_all(port, requests)

    answers = _answers(asyncio.run(scenario()))

    targets = [body["target"] for _, body in answers]
    assert MAX_PIPELINED <= len(targets) < sent
    assert targets == [f"/{i}" for i in range(len(targets))]  # in order, none skipped
