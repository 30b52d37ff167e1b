"""What shared caches may keep: private unless the handler said public, never a cookie."""

import asyncio

import pytest

from millionscale.web.caching import PRIVATE, PrivateByDefault


def answered_with(headers: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    """The headers ``PrivateByDefault`` sends for a handler that answers with ``headers``."""

    async def handler(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    asyncio.run(PrivateByDefault(handler)({"type": "http", "headers": []}, receive, send))
    found: dict[bytes, list[bytes]] = {}
    for name, value in sent[0]["headers"]:
        found.setdefault(name, []).append(value)
    return found


def test_an_answer_without_cache_control_is_private():
    assert answered_with([(b"content-type", b"text/html")])[b"cache-control"] == [PRIVATE.encode()]


def test_what_the_handler_made_public_stays_public():
    public = b"public, max-age=31536000, immutable"

    assert answered_with([(b"cache-control", public)])[b"cache-control"] == [public]


@pytest.mark.parametrize("given", [b"public, max-age=60", b"max-age=60", b"no-cache"])
def test_an_answer_that_sets_a_cookie_is_private_whatever_it_said(given):
    headers = answered_with([(b"Cache-Control", given), (b"set-cookie", b"s=1")])

    assert headers.get(b"cache-control") == [PRIVATE.encode()]
    assert b"Cache-Control" not in headers


@pytest.mark.parametrize("given", [b"private, max-age=60", b"no-store"])
def test_a_cookie_answer_already_private_keeps_its_directives(given):
    headers = answered_with([(b"cache-control", given), (b"set-cookie", b"s=1")])

    assert headers[b"cache-control"] == [given]
