"""The balancer's admin API wants the admin token, in any spelling of ``Bearer``."""

import asyncio

import pytest

from millionscale.lb.__main__ import admin_handler
from millionscale.lb.http import Request
from millionscale.lb.proxy import Balancer

TOKEN = "s3cret-token"


def ask(authorization: bytes | None) -> int:
    handle = admin_handler(Balancer(), TOKEN)
    headers = [] if authorization is None else [(b"authorization", authorization)]
    request = Request("GET", b"/backends", headers, b"", peer="127.0.0.1", keep_alive=True)
    return asyncio.run(handle(request)).status  # type: ignore[arg-type]  # an Awaitable, not typed a Coroutine


@pytest.mark.parametrize("scheme", [b"Bearer", b"bearer", b"BEARER"])
def test_the_scheme_is_case_insensitive(scheme):
    assert ask(scheme + b" " + TOKEN.encode()) == 200


@pytest.mark.parametrize("field", [None, b"Bearer wrong", b"Basic " + TOKEN.encode(), b""])
def test_a_missing_or_wrong_token_is_refused(field):
    assert ask(field) == 401
