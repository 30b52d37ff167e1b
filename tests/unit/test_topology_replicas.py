"""``replicas = N``: one process of the file runs as NAME-1 ... NAME-N, each on a host of its
own made from the template host; dependents depend on every replica; bad input is refused
with a clear error naming the key."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from factories import resolved

from millionscale.errors import TopologyError
from millionscale.topology.load import parse_topology
from millionscale.topology.model import MAX_REPLICAS, MIB, Topology
from millionscale.topology.replicas import expand, replica
from millionscale.topology.resolve import ResolvedTopology

WEB = ["{python}", "-m", "app", "--host", "{host}", "--port", "{port}", "--name", "{name}"]


def _topology(hosts: dict[str, Any] | None = None, **processes: dict[str, Any]) -> Topology:
    return Topology.model_validate(
        {"topology": {"name": "t"}, "hosts": hosts or {}, "processes": processes}
    )


def _fleet(replicas: int = 2, **lb: Any) -> Topology:
    """A balancer on an edge host, ``replicas`` web servers from the template host ``web``,
    PostgreSQL on a host of its own."""
    return _topology(
        {
            "edge": {"cpus": 0.25, "memory": "256MiB", "network": "edge"},
            "web": {"cpus": 0.25, "memory": "512MiB", "datacenter": "dc2"},
            "data": {"cpus": 0.5, "memory": "1GiB"},
        },
        db={"tier": "db", "engine": "postgres", "host": "data"},
        web={
            "tier": "web",
            "command": WEB,
            "env": {"DATABASE_URL": "{db.url}", "OWN": "{secret}"},
            "depends_on": ["db"],
            "host": "web",
            "replicas": replicas,
        },
        lb={"tier": "lb", "command": ["{python}", "-m", "lb", "{discovery}"], "host": "edge", **lb},
    )


def _resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: Topology) -> ResolvedTopology:
    return resolved(parsed, tmp_path / "state", hosts=monkeypatch)


def test_a_replicated_process_runs_as_n_processes_in_its_place_in_the_file():
    expanded = expand(_fleet(3)).topology

    assert list(expanded.processes) == ["db", "web-1", "web-2", "web-3", "lb"]
    assert all(expanded.processes[f"web-{i}"].replicas is None for i in (1, 2, 3))


def test_each_replica_gets_a_host_of_its_own_made_from_the_template():
    expansion = expand(_fleet(2))

    hosts = expansion.topology.hosts
    assert list(hosts) == ["edge", "web-1", "web-2", "data"]  # the template is no host
    assert expansion.topology.processes["web-2"].host == "web-2"
    assert (hosts["web-2"].cpus, hosts["web-2"].memory, hosts["web-2"].datacenter) == (
        0.25,
        512 * MIB,
        "dc2",
    )
    assert hosts["web-1"].network == "private"
    two = expansion.replicas["web-2"]
    assert (two.of, two.index, two.host) == ("web", 2, "web-2")


def test_a_process_that_depends_on_a_replicated_one_depends_on_every_replica():
    expanded = expand(_fleet(3, depends_on=["web"])).topology

    assert expanded.processes["lb"].depends_on == ["web-1", "web-2", "web-3"]
    assert expanded.processes["web-1"].depends_on == ["db"]


def test_a_replica_beyond_the_files_count_is_made_the_same_way():
    one = replica(_fleet(2), "web", 7)

    assert (one.name, one.host, one.spec.host, one.spec.replicas) == (
        "web-7",
        "web-7",
        "web-7",
        None,
    )
    assert one.host_spec is not None
    assert one.host_spec.cpus == 0.25


def test_a_process_that_is_not_replicated_has_no_replica():
    with pytest.raises(TopologyError, match="db is not a replicated process"):
        replica(_fleet(2), "db", 1)


def test_a_topology_without_replicas_is_its_own_expansion():
    parsed = _topology(web={"tier": "web", "command": ["sh"]})

    assert expand(parsed).topology is parsed


def test_placeholders_render_per_replica(tmp_path, monkeypatch):
    resolved = _resolve(tmp_path, monkeypatch, _fleet(2))

    one, two = resolved.process("web-1"), resolved.process("web-2")
    assert one.netns != two.netns
    assert one.host != two.host
    assert one.argv is not None
    assert two.argv is not None
    assert one.argv[-1] == "web-1"
    assert two.argv[-1] == "web-2"
    assert one.argv[4] == one.host
    assert two.argv[4] == two.host
    assert one.env["OWN"] == one.secret
    assert one.secret != two.secret
    assert (one.on_host, two.on_host) == ("web-1", "web-2")
    assert (two.replica_set, two.replica_index) == ("web", 2)
    assert resolved.process("db").replica_set is None
    assert [h.name for h in resolved.hosts] == ["edge", "web-1", "web-2", "data"]


def test_replicas_without_a_host_on_the_subnet_each_get_a_namespace(tmp_path, monkeypatch):
    parsed = _topology(
        web={"tier": "web", "command": WEB, "network": "private", "replicas": 2, "port": 8000}
    )

    resolved = _resolve(tmp_path, monkeypatch, parsed)

    network = resolved.network
    assert network is not None
    assert [m.name for m in network.members] == ["web-1", "web-2"]
    assert {p.ports["main"] for p in resolved.processes} == {8000}  # each in its own namespace


def _refused(text: str, *, box: bool = False) -> TopologyError:
    """The error parsing ``text`` (after the template host ``box`` if asked) raises."""
    head = '[topology]\nname = "t"\n\n' + (BOX if box else "")
    with pytest.raises(TopologyError) as caught:
        parse_topology(head + dedent(text), "t.toml")
    return caught.value


COMMAND = 'command = ["sh"]\n'
BOX = '[hosts.box]\ncpus = 0.25\nmemory = "256MiB"\n\n'  # a template host


@pytest.mark.parametrize(
    ("replicas", "message"),
    [
        ("0", "greater than or equal to 1"),
        (str(MAX_REPLICAS + 1), f"less than or equal to {MAX_REPLICAS}"),
        ("-2", "greater than or equal to 1"),
        ('"two"', "valid integer"),
        ("1.5", "valid integer"),
    ],
)
def test_a_count_that_is_not_a_sane_number_is_refused(replicas: str, message: str):
    error = _refused(f'[processes.web]\ntier = "web"\n{COMMAND}replicas = {replicas}\n')

    assert error.message.startswith("t.toml:7: processes.web.replicas: ")
    assert message in error.message


def test_a_replica_named_like_another_process_is_refused():
    error = _refused(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        replicas = 3

        [processes.web-2]
        tier = "web"
        command = ["sh"]
        """
    )

    assert error.message == (
        "t.toml:7: processes.web.replicas = 3 makes web-2, and processes.web-2 is a process "
        "of its own: rename one of them"
    )


def test_a_host_made_from_the_template_named_like_another_host_is_refused():
    error = _refused(
        """\
        [hosts.box-1]
        cpus = 1
        memory = "1GiB"

        [processes.web]
        tier = "web"
        command = ["sh"]
        host = "box"
        replicas = 2
        """,
        box=True,
    )

    assert "processes.web.replicas = 2 makes host box-1 from the template 'box'" in error.message
    assert "hosts.box-1 is a host of its own" in error.message


def test_another_process_on_the_template_host_is_refused():
    error = _refused(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        host = "box"
        replicas = 2

        [processes.sidecar]
        tier = "tool"
        command = ["sh"]
        host = "box"
        """,
        box=True,
    )

    assert "processes.sidecar.host names 'box', the template of web's replicas' hosts" in (
        error.message
    )


def test_two_replicated_processes_on_one_template_are_refused():
    error = _refused(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        host = "box"
        replicas = 2

        [processes.api]
        tier = "api"
        command = ["sh"]
        host = "box"
        replicas = 2
        """,
        box=True,
    )

    assert "processes.api.host: 'box' is already the template of web's replicas" in error.message


def test_an_engine_cannot_be_replicated():
    error = _refused('[processes.db]\ntier = "db"\nengine = "postgres"\nreplicas = 2\n')

    assert "'replicas' is for commands: postgres has data of its own" in error.message
    assert "replica_of" in error.message


def test_the_address_of_a_replicated_process_is_refused_and_discovery_named():
    error = _refused(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        replicas = 2

        [processes.lb]
        tier = "lb"
        command = ["lb", "--backend", "{web.address}"]
        depends_on = ["web"]
        """
    )

    assert "processes.lb uses {web.address}, but web has replicas" in error.message
    assert "--discovery {discovery} --tier web" in error.message


def test_a_fixed_port_shared_by_replicas_on_the_hosts_network_is_refused():
    error = _refused(f'[processes.web]\ntier = "web"\n{COMMAND}replicas = 2\nport = 8000\n')

    assert "replicas on the host's network cannot share port 8000" in error.message


def test_a_name_too_long_to_number_is_refused():
    name = "w" * 38
    error = _refused(f'[processes.{name}]\ntier = "web"\n{COMMAND}replicas = 2\n')

    assert f"{name!r} is too long a name to number its replicas" in error.message


def test_a_replica_with_a_namespace_named_like_a_host_is_refused():
    error = _refused(
        """\
        [hosts.web-1]
        cpus = 0.25
        memory = "256MiB"

        [processes.web]
        tier = "web"
        command = ["sh"]
        network = "private"
        replicas = 2
        """
    )

    assert "makes web-1, with a namespace of its own, and so has host 'web-1'" in error.message


def test_a_dependency_cycle_through_replicas_is_refused():
    error = _refused(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        replicas = 2
        depends_on = ["worker"]

        [processes.worker]
        tier = "worker"
        command = ["sh"]
        depends_on = ["web"]
        """
    )

    assert "dependency cycle" in error.message
