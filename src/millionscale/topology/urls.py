"""How a user reaches a running topology: each process's URL, and the one to open.

An engine's URL is its client URL from the root namespace, where the CLI, the
tools, the tests and the load generator run, credentials included, so a script
can connect with its own tools; treat it as a secret. An engine on no host
is reached over TCP (what ``{db.url}`` renders to for a process on no host);
one on a host (in a network namespace on the private subnet, which the root
namespace has no route into) through its Unix socket, a file that no network
namespace bounds. A process of ours that answers HTTP
(its readiness is an HTTP path) has ``http://ADDRESS/``; other processes have
none. The address to open in a browser is the public entry point: the load
balancer's when the topology has one (from stage 3 on the web servers sit on
a private subnet and cannot be reached from the host), else the web server's.
"""

from __future__ import annotations

from millionscale.servers.engines import engine_for
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology

__all__ = ["browser_url", "engine_host", "engine_url", "process_url"]

# Where users come in, in order of preference: (tier, role or None for any). A CDN's
# edges face users (its shield does not); a balancer, else a web server, otherwise.
ENTRY_TIERS: tuple[tuple[str, str | None], ...] = (("cdn", "edge"), ("lb", None), ("web", None))


def _via_socket(process: ResolvedProcess) -> bool:
    return process.netns is not None and process.socket_dir is not None


def engine_url(process: ResolvedProcess) -> str:
    """Engine ``process``'s client URL from the root namespace, credentials included:
    its Unix socket when it runs in a namespace, else TCP to its address (an engine
    without a Unix socket, NATS, has only that, unreachable from here on a host)."""
    assert process.engine is not None, f"{process.name} runs no engine"
    engine = engine_for(process.engine)
    if _via_socket(process):
        url = engine.socket_url(process.endpoint())
        if url is not None:
            return url
    return engine.url(process.endpoint())


def engine_host(process: ResolvedProcess) -> str:
    """Where a client in the root namespace connects to engine ``process``: its Unix
    socket directory when it runs in a namespace, else its address (libpq's ``host``,
    which takes either)."""
    if _via_socket(process):
        assert process.socket_dir is not None
        return process.socket_dir
    return process.host


def process_url(process: ResolvedProcess) -> str | None:
    """``process``'s client URL from the root namespace (an engine's with its
    credentials), or None if it has none."""
    if process.engine is not None:
        return engine_url(process)
    if process.readiness.http is not None:
        return f"http://{process.address}/"
    return None


def browser_url(topology: ResolvedTopology) -> str | None:
    """The URL a person opens to use the topology's application, or None if it has none."""
    for tier, role in ENTRY_TIERS:
        for process in topology.processes:
            if process.tier != tier or (role is not None and process.role != role):
                continue
            if process.engine is None and process.readiness.http:
                return f"http://{process.address}/"
    return None
