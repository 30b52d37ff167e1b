"""How a user reaches a running topology: each process's URL, and the one to open.

An engine's URL is its client URL over TCP, credentials included (what
``{db.url}`` renders to for a process on the host), so a script can connect
with its own tools; treat it as a secret. A process of ours that answers HTTP
(its readiness is an HTTP path) has ``http://ADDRESS/``; other processes have
none. The address to open in a browser is the public entry point: the load
balancer's when the topology has one (from stage 3 on the web servers sit on
a private subnet and cannot be reached from the host), else the web server's.
"""

from __future__ import annotations

from millionscale.servers.engines import engine_for
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology

__all__ = ["browser_url", "process_url"]

ENTRY_TIERS = ("lb", "web")  # where users come in, in order of preference


def process_url(process: ResolvedProcess) -> str | None:
    """``process``'s client URL (an engine's with its credentials), or None if it has none."""
    if process.engine is not None:
        return engine_for(process.engine).url(process.endpoint())
    if process.readiness.http is not None:
        return f"http://{process.address}/"
    return None


def browser_url(topology: ResolvedTopology) -> str | None:
    """The URL a person opens to use the topology's application, or None if it has none."""
    for tier in ENTRY_TIERS:
        for process in topology.processes:
            if process.tier == tier and process.engine is None and process.readiness.http:
                return f"http://{process.address}/"
    return None
