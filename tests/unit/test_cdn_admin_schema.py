"""Schemathesis over the edge's admin API: no generated request gets a 5xx.

The API is plain Starlette (no OpenAPI of its own), so the contract docs/cdn.md
states is written out here as OpenAPI 3.0 and the app is driven in-process, over
an edge that was never started (a purge works on its store alone). Refusals must
be 4xx with a ``detail``; nothing may be 5xx.
"""

from __future__ import annotations

from typing import Any

from schema_support import server_errors

from millionscale.cdn.admin import create_app
from millionscale.cdn.edge import Edge
from millionscale.cdn.feed import PurgeFeed, PurgeLog
from millionscale.cdn.settings import EdgeSettings

TOKEN = "s3cret-token"
EXAMPLES_PER_OPERATION = 60  # three operations: a couple of hundred in-process requests

_ANSWERS: dict[str, Any] = {
    "default": {"description": "a refusal: {'detail': reason}"},
    "200": {"description": "the answer"},
}
_SHORT_WAIT = {"type": "number", "minimum": 0, "maximum": 0.01}  # no generated long poll
_PURGE = {
    "type": "object",
    "properties": {
        "url": {"type": "string"},
        "prefix": {"type": "string"},
        "tag": {"type": "string"},
        "soft": {"type": "boolean"},
        "issued_at": {"type": "number"},
        "wait": {"type": "boolean"},
        "wait_s": _SHORT_WAIT,
    },
}
ADMIN_API: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "millionscale CDN edge admin", "version": "1"},
    "paths": {
        "/v1/purge": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _PURGE}},
                },
                "responses": _ANSWERS,
            }
        },
        "/v1/purges": {
            "get": {
                "parameters": [
                    {"name": "after", "in": "query", "schema": {"type": "integer"}},
                    {"name": "epoch", "in": "query", "schema": {"type": "string"}},
                    {"name": "follower", "in": "query", "schema": {"type": "string"}},
                    {"name": "wait_s", "in": "query", "schema": _SHORT_WAIT},
                ],
                "responses": _ANSWERS,
            }
        },
        "/v1/statistics": {"get": {"responses": _ANSWERS}},
    },
}


def test_no_generated_request_gets_a_server_error():
    edge = Edge(EdgeSettings(origin="http://127.0.0.1:9", memory_bytes=1 << 20))
    failures = server_errors(
        ADMIN_API,
        create_app(edge, TOKEN, PurgeFeed(PurgeLog(edge.clock))),
        TOKEN,
        examples=EXAMPLES_PER_OPERATION,
    )

    assert failures == []
