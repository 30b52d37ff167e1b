"""The ``millionscale`` command.

    millionscale up [TOPOLOGY] [--detach]    start a topology (default topologies/demo.toml)
    millionscale down                        stop everything it started
    millionscale status [--json]             who runs where, and how they are
    millionscale logs [NAME] [--follow]      the logs, readable, interleaved by time (--json)
    millionscale demo                        up, seed, load, report, down
    millionscale photos seed                 fill the running photo app with data
    millionscale bench --target URL          open-loop load, or --find-capacity
    millionscale db status [--json]          PostgreSQL roles, LSNs, replay lag
    millionscale db url [NODE]               a node's URL, credentials included (the primary)
    millionscale db psql [NODE]              psql on a node (the current primary by default)
    millionscale db switchover [--to NODE]   planned change of primary, no write lost
    millionscale db failover [--yes]         forced: fence the primary, promote a standby
    millionscale lb status|add|drain|remove  the load balancer's backends, live
    millionscale cdn purge --url|--prefix|--tag  drop what the CDN's edges hold (--soft: mark stale)
    millionscale queue status [--json]       the queue's depth, its oldest job, the workers
    millionscale queue dead-letters          jobs given up on, with why (--limit N, --json)
    millionscale queue retry ID|--all        put dead letters back on the queue
    millionscale dns query NAME --from IP    what a user there is answered (--zone: and why)
    millionscale discovery [--json]          the live snapshot: members, health, role claims
    millionscale process add NAME --like P   a new process made like P; process remove NAME
    millionscale estimate [SCENARIO]         back-of-the-envelope capacity plan, --explain
    millionscale estimate latency --measure  the latency numbers, and this machine's
    millionscale version                     (or --version; -h is --help everywhere)

Errors a user can cause (a bad topology file, a taken port, a missing engine,
an unknown process name, an option out of range) print one line, ``error:
what (how to fix it)``, and exit with code 2; nothing is left running. Listings
are :class:`~millionscale.render.Records`: a table on a terminal, plain aligned
lines in a pipe. A topology that starts but does not
become ready exits with code 1 after stopping what it started.

The package's modules, one a command or a group of sub-commands, named after it:
``_lifecycle`` (up, down), ``_status``, ``_logs``, ``_bench``, ``_demo``,
``_estimate``, ``_photos``, ``_db``, ``_lb``, ``_cdn``, ``_queue``, ``_dns``, ``_discovery``,
``_process``; what they share: ``_options`` (bounded numbers, the state directory), ``_console``
(stdout and stderr), ``_running`` (the topology a state directory holds);
``_app`` puts the commands in one tree and ends a run (:func:`main`). Only
:data:`app` (the typer application) and :func:`main` (the console script) are
public; ``python -m millionscale.cli`` runs :func:`main`.
"""

from millionscale.cli._app import app, main

__all__ = ["app", "main"]
