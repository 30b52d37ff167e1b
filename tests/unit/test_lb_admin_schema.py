"""Schemathesis over the balancer's admin API: no generated request gets a 5xx.

The API is plain Starlette (no OpenAPI of its own), so the contract docs/lb.md
states is written out here as OpenAPI 3.0 and the app is driven in-process.
Refusals must be 401/404/405/409/422 with a ``detail``; nothing may be 5xx.
"""

from __future__ import annotations

from typing import Any

from schema_support import server_errors

from millionscale.lb import Balancer
from millionscale.lb.admin import create_app

TOKEN = "s3cret-token"
EXAMPLES_PER_OPERATION = 60  # four operations: a few hundred in-process requests, seconds

_ANSWERS: dict[str, Any] = {
    "default": {"description": "a refusal: {'detail': reason}"},
    "200": {"description": "the balancer's status"},
}
# Names and addresses shaped like real ones, so requests get past the body check
# and reach membership (201, 409, drain, delete), not only its 422s and 404s.
_NAME_SCHEMA = {"type": "string", "pattern": "^(web-1|web-[0-9]|[a-z0-9-]{1,12})$"}
_NAME = {"name": "name", "in": "path", "required": True, "schema": _NAME_SCHEMA}
ADMIN_API: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "millionscale balancer admin", "version": "1"},
    "paths": {
        "/backends": {
            "get": {"responses": _ANSWERS},
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": _NAME_SCHEMA,
                                    "address": {
                                        "type": "string",
                                        "pattern": "^[a-z0-9.]{1,16}:[0-9]{1,5}$",
                                    },
                                    "weight": {"type": "integer"},
                                },
                                "required": ["name", "address"],
                            }
                        }
                    },
                },
                "responses": {**_ANSWERS, "201": {"description": "added"}},
            },
        },
        "/backends/{name}/drain": {"post": {"parameters": [_NAME], "responses": _ANSWERS}},
        "/backends/{name}": {"delete": {"parameters": [_NAME], "responses": _ANSWERS}},
    },
}


def test_no_generated_request_gets_a_server_error():
    balancer = Balancer()
    balancer.add("web-1", "127.0.0.1", 9001, initial=True)
    failures = server_errors(
        ADMIN_API, create_app(balancer, TOKEN), TOKEN, examples=EXAMPLES_PER_OPERATION
    )

    assert failures == []
