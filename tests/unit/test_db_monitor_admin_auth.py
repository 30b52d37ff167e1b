"""The failover monitor's admin API wants the admin token, in any spelling of ``Bearer``.

RFC 9110 §11.1: the authentication scheme is a case-insensitive token; the
token itself is compared exactly (in constant time, by ``bearer_matches``).
"""

from typing import Any, cast

import pytest
from starlette.testclient import TestClient

from millionscale.db.monitor import Monitor, create_app

TOKEN = "s3cret-token"


class StandInMonitor:
    """What the API reads of a monitor for ``GET /cluster``; no cluster behind it."""

    ready = True

    def view(self) -> dict[str, Any]:
        return {"record": {"epoch": 1, "primary": "db"}, "state": "healthy", "nodes": {}}


def ask(authorization: str | None) -> int:
    client = TestClient(create_app(cast(Monitor, StandInMonitor()), TOKEN))  # no lifespan: no loop
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/cluster", headers=headers).status_code


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_case_insensitive(scheme):
    assert ask(f"{scheme} {TOKEN}") == 200


@pytest.mark.parametrize(
    "field", [None, "", "Bearer wrong", f"Bearer {TOKEN.upper()}", f"Basic {TOKEN}", TOKEN]
)
def test_a_missing_or_wrong_token_is_refused(field):
    assert ask(field) == 401


def test_errors_read_detail_as_every_error_of_ours():
    client = TestClient(create_app(cast(Monitor, StandInMonitor()), TOKEN))
    refused = client.get("/cluster")
    malformed = client.post(
        "/switchover", content=b"[1]", headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert refused.json() == {"detail": "missing or wrong admin token"}
    assert malformed.status_code == 422
    assert malformed.json() == {"detail": 'the body must be {} or {"to": "NODE"}'}
