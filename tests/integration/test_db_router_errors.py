"""A router pointed at the wrong thing says so clearly, naming the node, never the password."""

import asyncio

import pytest

from millionscale.db import Router
from millionscale.errors import DatabaseError
from millionscale.servers import free_port, start_server

pytestmark = pytest.mark.integration


def open_router(primary, replicas=None):
    async def scenario():
        async with Router(primary, replicas or {}):
            pass

    asyncio.run(scenario())


def test_a_wrong_password_is_a_database_error_about_the_password():
    with start_server("postgres") as server:
        url = f"postgresql://postgres:not-the-secret@{server.host}:{server.port}/postgres"

        with pytest.raises(DatabaseError) as caught:
            open_router(url)

    assert caught.value.message.startswith(
        f"database node 'primary' at {server.host}:{server.port} cannot be used: "
    )
    assert "password authentication failed" in caught.value.message
    assert "not-the-secret" not in caught.value.one_line()
    assert "password" in caught.value.hint


def test_a_wrong_password_on_a_replica_names_that_replica():
    with start_server("postgres") as server:
        wrong = f"postgresql://postgres:nope@{server.host}:{server.port}/postgres"

        with pytest.raises(DatabaseError, match=r"database node 'r1' at .* password"):
            open_router(server.url, {"r1": wrong})


def test_a_port_that_does_not_speak_postgresql_is_a_database_error():
    async def scenario():
        async def not_postgres(reader, writer):
            writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(not_postgres, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with Router(f"postgresql://postgres:x@127.0.0.1:{port}/postgres", {}):
                pass
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises(
        DatabaseError, match=r"database node 'primary' at 127\.0\.0\.1:\d+"
    ) as caught:
        asyncio.run(scenario())

    assert "PostgreSQL server listens" in caught.value.hint


def test_a_port_nobody_listens_on_is_a_database_error():
    port = free_port()

    with pytest.raises(DatabaseError, match=f"127.0.0.1:{port} cannot be used: .*refused"):
        open_router(f"postgresql://postgres:x@127.0.0.1:{port}/postgres")


def test_a_string_that_is_no_connection_string_is_refused_before_any_connection():
    with pytest.raises(DatabaseError, match="not a PostgreSQL connection string"):
        Router("http://example.com/", {})
