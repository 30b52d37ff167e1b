"""A router pointed at the wrong thing (a node, a discovery source) says so clearly,
naming the node, never the password."""

import asyncio

import pytest

from millionscale.db import Router
from millionscale.discovery import HttpDiscovery, Member, StaticDiscovery
from millionscale.errors import DatabaseError, DiscoveryError
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


def open_from(discovery, conninfo="postgresql://postgres:x@/postgres"):
    async def scenario():
        async with Router.from_discovery(discovery, conninfo):
            pass

    asyncio.run(scenario())


def test_a_discovery_source_with_no_database_node_is_a_database_error_saying_what_to_list():
    only_others = StaticDiscovery.of(
        [
            Member("web-1", "web", "127.0.0.1", {"main": 8000}, role="app"),
            Member("db-monitor", "db", "127.0.0.1", {"main": 8100}, role="monitor"),
            Member("db-old", "db", "127.0.0.1", {"main": 5432}, role="replica", health="stopped"),
        ]
    )

    with pytest.raises(DatabaseError) as caught:
        open_from(only_others)

    assert caught.value.message.startswith(
        "discovery lists no PostgreSQL node in tier 'db' (2 member(s) there: "
    )
    assert "role 'primary' or 'replica'" in caught.value.hint
    assert "'main'" in caught.value.hint


def test_a_discovery_source_that_does_not_answer_is_a_discovery_error(tmp_path):
    async def scenario():
        nowhere = HttpDiscovery(tmp_path / "no.sock", "token")
        async with nowhere, Router.from_discovery(nowhere, "postgresql://postgres:x@/postgres"):
            pass

    with pytest.raises(DiscoveryError, match="does not answer") as caught:
        asyncio.run(scenario())

    assert "millionscale up" in caught.value.hint


def test_a_discovered_node_that_refuses_the_password_is_named():
    with start_server("postgres") as server:
        nodes = StaticDiscovery.of(
            [Member("db-1", "db", server.host, {"main": server.port}, role="primary")]
        )

        with pytest.raises(DatabaseError, match=r"database node 'db-1' at .* password") as caught:
            open_from(nodes, "postgresql://postgres:not-the-secret@/postgres")

    assert "not-the-secret" not in caught.value.one_line()


def test_a_shared_connection_string_that_is_none_is_refused_before_discovery_is_read():
    with pytest.raises(DatabaseError, match="not a PostgreSQL connection string"):
        Router.from_discovery(StaticDiscovery.of([]), "http://example.com/")
