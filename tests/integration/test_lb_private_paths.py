"""The public side never reaches a backend's /metrics; every refusal's body is {"detail": ...}."""

from __future__ import annotations

import asyncio
import json

import pytest
from lb_support import Echo, balancing, raw, status_of

pytestmark = pytest.mark.integration


def _get(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def _body(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize("target", [b"/metrics", b"/%6detrics", b"//Metrics/", b"/x/../metrics"])
def test_metrics_is_answered_404_by_the_balancer_and_never_forwarded(target):
    async def scenario() -> tuple[bytes, bytes, int]:
        backend = Echo("web-1")
        async with balancing([backend]) as (_, port):
            refused = await raw(port, _get(target))
            served = await raw(port, _get(b"/api/timeline"))
            return refused, served, backend.served()

    refused, served, forwarded = asyncio.run(scenario())

    assert status_of(refused) == 404
    assert _body(refused) == {"detail": "not found"}
    assert status_of(served) == 200
    assert forwarded == 1  # the timeline only


def test_no_backend_is_a_503_with_a_detail():
    async def scenario() -> bytes:
        async with balancing([]) as (_, port):
            return await raw(port, _get(b"/"))

    answer = asyncio.run(scenario())

    assert status_of(answer) == 503
    assert set(_body(answer)) == {"detail"}
