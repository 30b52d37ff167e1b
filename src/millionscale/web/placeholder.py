"""A placeholder HTTP process: the web tier until the reference app arrives.

It does what every HTTP process of ours does (JSON logs, ``/healthz``,
``/readyz``, ``/metrics``) and one real thing: ``GET /`` counts a visit in
PostgreSQL and returns the total, so the single-server topology exercises a
web process and its database end to end. ``/readyz`` is 503 until the
database answers.

    python -m millionscale.web.placeholder --port 8000   # DATABASE_URL from the environment
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.obs import MetricsMiddleware, configure_logging, health_routes

__all__ = ["create_app", "main"]

log = structlog.get_logger()


def create_app(database_url: str | None) -> Starlette:
    """The placeholder app; without ``database_url`` it is ready and counts nothing."""

    async def connect() -> psycopg.AsyncConnection[tuple[int]]:
        assert database_url is not None
        return await psycopg.AsyncConnection.connect(database_url, connect_timeout=2)

    async def ready() -> str | None:
        if database_url is None:
            return None
        try:
            async with await connect() as conn:
                await conn.execute("SELECT 1")
        except psycopg.Error as error:
            return f"database unreachable: {type(error).__name__}"
        return None

    async def index(_request: Request) -> Response:
        if database_url is None:
            return JSONResponse({"service": "millionscale placeholder", "visits": None})
        try:
            async with await connect() as conn:
                cur = await conn.execute(
                    "INSERT INTO visits (id, n) VALUES (1, 1) "
                    "ON CONFLICT (id) DO UPDATE SET n = visits.n + 1 RETURNING n"
                )
                row = await cur.fetchone()
        except psycopg.Error as error:
            log.warning("database error", error=type(error).__name__)
            return JSONResponse({"detail": "database unavailable"}, status_code=503)
        return JSONResponse({"service": "millionscale placeholder", "visits": row[0] if row else 0})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if database_url is not None:
            try:
                async with await connect() as conn:
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS visits (id int PRIMARY KEY, n bigint NOT NULL)"
                    )
            except psycopg.Error as error:  # not fatal: /readyz reports it
                log.warning("schema not created", error=type(error).__name__)
        log.info("started")
        yield
        log.info("stopping")

    return Starlette(
        routes=[Route("/", index), *health_routes(ready)],
        middleware=[Middleware(MetricsMiddleware)],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="millionscale-placeholder", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="web", help="process name for the logs")
    args = parser.parse_args(argv)
    configure_logging(args.name)
    app = create_app(os.environ.get("DATABASE_URL"))
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
