"""Schemathesis over an admin API written out as OpenAPI: no generated request gets a 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


def server_errors(spec: dict[str, Any], app: Any, token: str, *, examples: int) -> list[str]:
    """Drive ``app`` in-process with ``examples`` generated requests per operation of
    ``spec``, the bearer ``token`` on each; every operation's failures (a 5xx, or a
    refusal without a string ``detail``), as sentences."""
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # Ok | Err
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
            )
            if response.status_code >= 400:
                assert isinstance(response.json()["detail"], str)

        try:
            check()
        except Exception as error:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {error}")
    return failures
