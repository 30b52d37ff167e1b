"""pytest fixtures for real engines, registered as the ``millionscale_servers`` plugin.

``postgres``, ``redis`` and ``nats`` give each test its own fresh server;
``postgres_session``, ``redis_session`` and ``nats_session`` share one server
across the whole test session (cheaper; tests must not assume it is empty).
Each yields a :class:`~millionscale.servers.RunningServer`; use ``.url``.

Servers are stopped and their directories removed when the fixture ends,
whether the test passed or failed, and the kernel kills them if pytest itself
is killed. A missing engine is an error naming how to install it, never a
skip: run ``make engines``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from millionscale.servers.server import RunningServer, start_server


def _serve(engine: str) -> Iterator[RunningServer]:
    with start_server(engine) as server:
        yield server


@pytest.fixture
def postgres() -> Iterator[RunningServer]:
    """A fresh PostgreSQL for this test."""
    yield from _serve("postgres")


@pytest.fixture
def redis() -> Iterator[RunningServer]:
    """A fresh Redis for this test."""
    yield from _serve("redis")


@pytest.fixture
def nats() -> Iterator[RunningServer]:
    """A fresh NATS server with JetStream for this test."""
    yield from _serve("nats")


@pytest.fixture(scope="session")
def postgres_session() -> Iterator[RunningServer]:
    """One PostgreSQL shared by the whole test session."""
    yield from _serve("postgres")


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RunningServer]:
    """One Redis shared by the whole test session."""
    yield from _serve("redis")


@pytest.fixture(scope="session")
def nats_session() -> Iterator[RunningServer]:
    """One NATS server with JetStream shared by the whole test session."""
    yield from _serve("nats")
