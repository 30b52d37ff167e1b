"""The package graph: tiers stand on their own; the supervisor imports no tier.

Read with ``ast`` from ``src/`` (every ``import`` and ``from ... import``,
including those inside functions and under ``TYPE_CHECKING``), never by
importing: a lazy import inside a function is an edge too.

The rules, and why:

- A **tier** (``lb``, ``web``, ``db``, ``cache``, ``cdn``, ``geodns``, ``queue``, ``chaos``,
  ``obs``, ``estimate``, ``discovery``, ``servers``) imports none of ``topology``,
  ``photos``, ``cli``, ``demo`` or ``bench``. A tier must run under
  Patroni, Kubernetes or a user's own supervisor; what it needs of the system
  comes through :mod:`millionscale.discovery`, flags, or a Protocol that the
  caller implements (``db.fencing.Fencer``). ``photos`` (the reference
  application), ``cli`` and ``demo`` are composition roots: they may import
  anything. ``bench`` is the load generator, which ``photos`` and ``cli`` use.
- **topology** (the model and the supervisor) imports, of the tiers, only
  ``servers`` (it launches engines), ``discovery`` (it will serve snapshots),
  ``web.bearer`` (one bearer check for admin endpoints), ``obs.admin`` (the
  admin token: ``up`` creates it, the admin client reads it) and ``obs.logging``
  (its JSON logs). Who the primary is reaches it as a role claim: the failover
  monitor claims ``db/primary`` in the supervisor's discovery
  (``topology.replication.PRIMARY_CLAIM``); the failover monitor is started
  through a command line
  (``topology.dbmonitor`` execs ``db.monitor``), not an import.
- The shared modules at the top (``errors``, ``aio``, ``render``,
  ``tomlfile``, ``entrypoint``) import nothing of ours but one another; anyone may import them.

``KNOWN`` lists the edges that break a rule today and that another part of
issue 13 removes; the test fails when one of them is gone, so the list only
shrinks.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "millionscale"

TIERS = {
    "lb",
    "web",
    "db",
    "cache",
    "cdn",
    "geodns",
    "queue",
    "chaos",
    "obs",
    "estimate",
    "discovery",
    "servers",
}
COMPOSITION = {
    "topology",
    "photos",
    "cli",
    "demo",
    "bench",
    "testing",
    "__main__",
}  # testing: for tests only
SHARED = {"errors", "aio", "render", "tomlfile", "statetable", "entrypoint", "__init__"}
FORBIDDEN_TO_TIERS = {"topology", "photos", "cli", "demo", "bench", "testing"}
# What topology may import of the packages above: (package, module or None for any).
TOPOLOGY_MAY_IMPORT = {
    ("servers", None),
    ("discovery", None),
    ("web", "bearer"),
    ("obs", "logging"),
    ("obs", "admin"),
}

# Edges that break a rule today, each removed by another part of issue 13 (the
# lead deletes the line when that part is merged): (importing file, imported module).
KNOWN: set[tuple[str, str]] = set()  # every edge that broke a rule is gone


def _imports(path: Path) -> set[str]:
    """Every millionscale module ``path`` imports (``from millionscale import x`` as
    ``millionscale.x``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(SRC.parent).with_suffix("").parts[: -node.level]
                base = ".".join(package + ((node.module,) if node.module else ()))
            else:
                base = node.module or ""
            if base == "millionscale":
                found |= {f"millionscale.{alias.name}" for alias in node.names}
            else:
                found.add(base)
    return {name for name in found if name.split(".")[0] == "millionscale"}


def _package(path: Path) -> str:
    """The top-level part of millionscale ``path`` belongs to (``db``, ``cli``...)."""
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _edges() -> list[tuple[str, str]]:
    """(file relative to src/millionscale, imported module), for every file."""
    return [
        (str(path.relative_to(SRC)), module)
        for path in sorted(SRC.rglob("*.py"))
        for module in sorted(_imports(path))
    ]


def _target(module: str) -> tuple[str, str | None]:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else None


def _breaks_a_rule(source: str, module: str) -> bool:
    package, (target, submodule) = source.split("/")[0].removesuffix(".py"), _target(module)
    if target in ("", package) or target in SHARED:
        return False
    if package in TIERS:
        return target in FORBIDDEN_TO_TIERS
    if package == "topology":
        return (target, None) not in TOPOLOGY_MAY_IMPORT and (
            target,
            submodule,
        ) not in TOPOLOGY_MAY_IMPORT
    return False


def test_every_package_is_a_tier_a_composition_root_or_shared():
    packages = {_package(path) for path in SRC.rglob("*.py")}

    assert packages - TIERS - COMPOSITION - SHARED == set()


def test_no_tier_imports_the_supervisor_the_app_or_the_command_line():
    broken = {
        (source, module)
        for source, module in _edges()
        if _package(SRC / source) in TIERS and _breaks_a_rule(source, module)
    }

    assert broken - KNOWN == set()


def test_topology_imports_no_tier_but_servers_discovery_bearer_and_logging():
    broken = {
        (source, module)
        for source, module in _edges()
        if source.startswith("topology/") and _breaks_a_rule(source, module)
    }

    assert broken == set()


def test_the_data_tier_and_the_supervisor_do_not_import_each_other():
    edges = _edges()

    assert [e for e in edges if e[0].startswith("db/") and ".topology" in e[1]] == []
    assert [e for e in edges if e[0].startswith("topology/") and ".db" in e[1]] == []


def test_the_shared_modules_import_only_one_another():
    broken = {
        (source, module)
        for source, module in _edges()
        if _package(SRC / source) in SHARED and _target(module)[0] not in SHARED
    }

    assert broken == set()


def test_every_known_exception_still_exists():
    """When another part of issue 13 removes an edge, its line in KNOWN goes too."""
    assert KNOWN - set(_edges()) == set()


def test_the_reader_sees_imports_inside_functions_and_relative_ones(tmp_path: Path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import millionscale.db.router\n"
        "def f():\n"
        "    from millionscale.topology.state import StateDir\n"
        "from millionscale import errors\n"
    )

    assert _imports(source) == {
        "millionscale.db.router",
        "millionscale.topology.state",
        "millionscale.errors",
    }
