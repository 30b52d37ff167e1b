"""clone: a process added at run time is rendered as its original was, with its own
name, secret and ports; {discovery} renders to the control socket."""

from pathlib import Path

import pytest
from factories import topology

from millionscale.errors import TopologyError, UnknownProcessError
from millionscale.topology.resolve import clone, resolve
from millionscale.topology.state import control_socket_for

WEB = {
    "tier": "web",
    "command": ["{python}", "-m", "app", "--port", "{port}", "--name", "{name}", "{discovery}"],
    "env": {"SECRET": "{shared_secret}", "ADMIN": "{admin_port}", "OWN": "{secret}"},
    "extra_ports": ["admin"],
    "depends_on": ["cache"],
}


def _resolved(tmp_path: Path):
    parsed = topology(cache={"tier": "cache", "engine": "redis"}, **{"web-1": WEB})
    handed = iter([41001, 41002, 41003, 41004])
    resolved = resolve(
        parsed,
        source=Path("t.toml"),
        state_dir=tmp_path / "state",
        pick_port=lambda host: next(handed),
        is_port_free=lambda host, port: True,
    )
    return parsed, resolved


def test_a_clone_is_rendered_like_its_original_with_its_own_name_and_ports(tmp_path: Path):
    parsed, resolved = _resolved(tmp_path)
    original = resolved.process("web-1")
    handed = iter([41002, 42001, 42002])  # 41002 is taken by web-1: skipped

    web4 = clone(
        resolved, parsed.processes["web-1"], "web-4", "web-1", pick_port=lambda host: next(handed)
    )

    assert web4.ports == {"main": 42001, "admin": 42002}
    assert web4.argv is not None
    assert web4.argv[4:7] == ["42001", "--name", "web-4"]
    assert web4.env["SECRET"] == original.env["SECRET"]  # the topology's shared secret
    assert web4.env["ADMIN"] == "42002"
    assert web4.env["OWN"] != original.env["OWN"]
    assert web4.depends_on == ["cache"]
    assert web4.log_path.endswith("logs/web-4.log")


def test_discovery_renders_to_the_control_socket_and_names_the_token_file(tmp_path: Path):
    _parsed, resolved = _resolved(tmp_path)
    web = resolved.process("web-1")

    assert web.argv[-1] == f"unix:{control_socket_for(tmp_path / 'state')}"
    assert web.env["MILLIONSCALE_DISCOVERY_TOKEN_FILE"] == str(tmp_path / "state" / "admin-token")
    assert "MILLIONSCALE_DISCOVERY_TOKEN_FILE" not in resolved.process("cache").env


def test_a_replica_on_a_new_host_takes_its_place_and_ports_of_its_own(tmp_path: Path):
    parsed, resolved = _resolved(tmp_path)
    handed = iter([43001, 43002])
    spec = parsed.processes["web-1"].model_copy(update={"depends_on": []})  # no engine to reach

    web5 = clone(
        resolved,
        spec,
        "web-5",
        place=("10.77.0.15", "ms-x-web-5"),
        on_host="web-5",
        replica=("web", 5),
        pick_port=lambda host: next(handed),
    )

    assert (web5.host, web5.netns, web5.on_host) == ("10.77.0.15", "ms-x-web-5", "web-5")
    assert web5.ports == {"main": 43001, "admin": 43002}
    assert (web5.replica_set, web5.replica_index) == ("web", 5)
    assert web5.argv is not None
    assert web5.argv[4:7] == ["43001", "--name", "web-5"]


def test_a_clone_whose_dependency_does_not_run_is_refused(tmp_path: Path):
    parsed, resolved = _resolved(tmp_path)
    spec = parsed.processes["web-1"].model_copy(update={"depends_on": ["cache", "queue"]})

    with pytest.raises(UnknownProcessError, match="web-4 depends on queue, which does not run"):
        clone(resolved, spec, "web-4", "web-1")


def test_an_engine_is_not_cloned(tmp_path: Path):
    parsed, resolved = _resolved(tmp_path)

    with pytest.raises(TopologyError, match="only command processes"):
        clone(resolved, parsed.processes["cache"], "cache-2", "cache")


def test_a_long_state_dir_gets_a_short_socket_path(tmp_path: Path):
    deep = tmp_path / ("x" * 120)

    path = control_socket_for(deep)

    assert len(bytes(path)) <= 107
    assert path.name == "control.sock"
    assert path == control_socket_for(deep)  # the same directory, the same place
    assert control_socket_for(Path("/tmp/s")) == Path("/tmp/s/control.sock")
