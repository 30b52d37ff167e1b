"""Hosts in the topology file: their sizes, who runs on them, and how resolution places
them (one namespace and one cgroup each, engines reached by address across hosts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from factories import resolved
from pydantic import ValidationError

from millionscale.errors import HostLimitsError
from millionscale.servers import cgroups, netns
from millionscale.topology.model import MIB, Topology
from millionscale.topology.resolve import ResolvedTopology, resolve

WEB = ["{python}", "-m", "millionscale.photos.app", "--host", "{host}", "--port", "{port}"]


def _topology(hosts: dict[str, Any], **processes: dict[str, Any]) -> Topology:
    return Topology.model_validate(
        {"topology": {"name": "t"}, "hosts": hosts, "processes": processes}
    )


def _resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: Topology, *, limits: bool = True
) -> ResolvedTopology:
    return resolved(parsed, tmp_path / "state", hosts=monkeypatch, limits=limits)


STAGE2 = {
    "hosts": {
        "app": {"cpus": 0.25, "memory": "512MiB", "network": "edge"},
        "data": {"cpus": 0.25, "memory": "1GiB"},
    },
    "db": {"tier": "db", "engine": "postgres", "host": "data"},
    "web": {
        "tier": "web",
        "command": WEB,
        "env": {"DATABASE_URL": "{db.url}"},
        "depends_on": ["db"],
        "host": "app",
    },
    "seed": {
        "tier": "tool",
        "command": ["sh", "-c", "echo {db.url}"],
        "depends_on": ["db"],
    },
}


def _stage2() -> Topology:
    spec = dict(STAGE2)
    return _topology(spec.pop("hosts"), **spec)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("memory", "size"),
    [("512MiB", 512 * MIB), ("1.5GiB", 1536 * MIB), (64 * MIB, 64 * MIB), (" 2 GiB ", 2048 * MIB)],
)
def test_a_hosts_memory_is_read_as_a_size(memory: object, size: int):
    parsed = _topology({"h": {"cpus": 1, "memory": memory}}, w={"tier": "w", "command": ["sh"]})
    assert parsed.hosts["h"].memory == size


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"cpus": 0, "memory": "1GiB"}, "greater than or equal to 0.01"),
        ({"cpus": 0.5, "memory": "1GB"}, "must be a size such as '512MiB'"),
        ({"cpus": 0.5, "memory": "1MiB"}, "at least 16MiB"),
        ({"cpus": 0.5, "memory": True}, "must be a size"),
        ({"cpus": 0.5, "memory": "1GiB", "network": "host"}, "'private' or 'edge'"),
        ({"cpus": 0.5, "memory": "1GiB", "disk": "10GiB"}, "Extra inputs are not permitted"),
    ],
)
def test_a_host_that_cannot_be_made_is_refused(host: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        _topology({"h": host}, w={"tier": "w", "command": ["sh"]})


def test_a_process_must_name_a_host_the_file_has():
    with pytest.raises(ValidationError, match=r"names 'web-9', which is not a \[hosts\] entry"):
        _topology(
            {"web-1": {"cpus": 1, "memory": "1GiB"}},
            w={"tier": "w", "command": ["sh"], "host": "web-9"},
        )


def test_a_process_on_a_host_takes_the_hosts_network():
    with pytest.raises(ValidationError, match=r"set 'network' on \[hosts.h\]"):
        _topology(
            {"h": {"cpus": 1, "memory": "1GiB"}},
            w={"tier": "w", "command": ["sh"], "host": "h", "network": "private"},
        )


def test_processes_on_one_host_share_its_namespace_and_address(tmp_path, monkeypatch):
    resolved = _resolve(tmp_path, monkeypatch, _stage2())

    network = resolved.network
    assert network is not None
    app, data = network.member("app"), network.member("data")
    assert app is not None
    assert data is not None
    web, db = resolved.process("web"), resolved.process("db")
    assert (web.netns, web.on_host, web.host) == (app.namespace, "app", app.public_address)
    assert (db.netns, db.on_host, db.host) == (data.namespace, "data", data.address)
    assert [h.name for h in resolved.hosts] == ["app", "data"]
    host = resolved.host("data")
    assert (host.cpus, host.memory_bytes, host.cgroup) == (
        0.25,
        1024 * MIB,
        f"ms-{network.id}-data",
    )
    assert resolved.hosts_limited


def test_across_hosts_an_engine_is_reached_by_address_and_from_outside_by_socket(
    tmp_path, monkeypatch
):
    resolved = _resolve(tmp_path, monkeypatch, _stage2())
    db = resolved.process("db")

    url = resolved.process("web").env["DATABASE_URL"]
    assert f"@{db.host}:{db.ports['main']}/" in url  # TCP to the data host, as machines do
    outside = resolved.process("seed").argv
    assert outside is not None
    assert db.socket_dir is not None
    assert f"host={quote(db.socket_dir, safe='')}" in outside[-1]  # its Unix socket


def test_an_engine_on_an_edge_host_faces_the_subnet_only(tmp_path, monkeypatch):
    parsed = _topology(
        {"one": {"cpus": 0.25, "memory": "1GiB", "network": "edge"}},
        db={"tier": "db", "engine": "postgres", "host": "one"},
        web={"tier": "web", "command": WEB, "depends_on": ["db"], "host": "one",
             "env": {"DATABASE_URL": "{db.url}"}},
    )  # fmt: skip
    resolved = _resolve(tmp_path, monkeypatch, parsed)

    member = resolved.network.member("one")  # type: ignore[union-attr]
    assert member is not None
    assert resolved.process("web").host == member.public_address  # users reach the app
    assert resolved.process("db").host == member.address  # and not the database


def test_hosts_are_refused_where_they_cannot_be_limited(tmp_path, monkeypatch):
    monkeypatch.setattr(netns, "available", lambda: None)
    monkeypatch.setattr(cgroups, "detect", lambda: "no writable cgroup cpu and memory controllers")

    with pytest.raises(HostLimitsError, match="hosts need cgroups: no writable cgroup") as refused:
        resolve(_stage2(), source=Path("t.toml"), state_dir=tmp_path / "s",
                pick_port=lambda h: 41001, is_port_free=lambda h, p: True)  # fmt: skip

    assert "--no-host-limits" in (refused.value.hint or "")
    monkeypatch.setattr(netns, "available", lambda: "network namespaces need root")
    with pytest.raises(HostLimitsError, match=r"hosts need network namespaces: .*need root"):
        resolve(_stage2(), source=Path("t.toml"), state_dir=tmp_path / "s",
                pick_port=lambda h: 41001, is_port_free=lambda h, p: True)  # fmt: skip


def test_without_host_limits_hosts_run_unlimited_and_say_so(tmp_path, monkeypatch):
    resolved = _resolve(tmp_path, monkeypatch, _stage2(), limits=False)

    assert not resolved.hosts_limited
    assert all(host.cgroup is None for host in resolved.hosts)
    assert resolved.process("web").netns is not None  # still hosts by address


def test_a_topology_without_hosts_resolves_as_before(tmp_path, monkeypatch):
    parsed = _topology({}, w={"tier": "w", "command": ["sh", "{host}"], "address": "127.0.0.3"})
    resolved = _resolve(tmp_path, monkeypatch, parsed)
    assert (resolved.hosts, resolved.cgroup_version, resolved.process("w").host) == (
        [],
        None,
        "127.0.0.3",
    )


def test_ups_sentence_on_the_subnet_reads_right_whatever_faces_the_public_side(
    tmp_path, monkeypatch
):
    both = _resolve(tmp_path / "a", monkeypatch, _stage2()).network_summary() or ""
    assert "data, reachable only through app (" in both
    assert "2 hosts, each held to its CPU quota and memory limit (cgroups v1)" in both
    one = _topology(
        {"server": {"cpus": 0.25, "memory": "1GiB", "network": "edge"}},
        web={"tier": "web", "command": WEB, "host": "server"},
    )
    alone = _resolve(tmp_path / "b", monkeypatch, one).network_summary() or ""
    assert ": only server (" in alone
    assert "facing both; 1 host," in alone
    inner = _topology(
        {"back": {"cpus": 0.25, "memory": "1GiB"}},
        web={"tier": "web", "command": WEB, "host": "back"},
    )
    hidden = _resolve(tmp_path / "c", monkeypatch, inner).network_summary() or ""
    assert ": back, with nothing facing the public side" in hidden
    assert "nothing;" not in hidden
