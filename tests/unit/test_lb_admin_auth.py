"""The balancer's admin API wants the admin token, in any spelling of ``Bearer``."""

import pytest
from starlette.testclient import TestClient

from millionscale.lb import Balancer
from millionscale.lb.admin import create_app

TOKEN = "s3cret-token"


def ask(authorization: str | None) -> int:
    client = TestClient(create_app(Balancer(), TOKEN))
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/backends", headers=headers).status_code


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_scheme_is_case_insensitive(scheme):
    assert ask(f"{scheme} {TOKEN}") == 200


@pytest.mark.parametrize("field", [None, "Bearer wrong", f"Basic {TOKEN}", ""])
def test_a_missing_or_wrong_token_is_refused(field):
    assert ask(field) == 401
