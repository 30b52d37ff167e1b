"""One admin client per process of a tier (every CDN edge and shield), at its --admin-host."""

from pathlib import Path

from factories import SLEEP, with_admin_token

from millionscale.topology.admin import admin_clients, admin_host


def _edge(role: str, admin_host_value: str) -> dict:
    command = [*SLEEP, "--admin-host", admin_host_value, "--admin-port", "{admin_port}"]
    return {"tier": "cdn", "role": role, "command": command, "extra_ports": ["admin"]}


def test_each_member_of_the_tier_gets_a_client_where_its_command_line_says(tmp_path: Path):
    resolved = with_admin_token(
        tmp_path,
        shield=_edge("shield", "10.9.0.2"),
        edge={**_edge("edge", "127.0.0.1")},
        web={"tier": "web", "role": "app", "command": SLEEP},
    )

    clients = admin_clients(resolved, "cdn", "CDN edge")

    assert [(p.name, c.host, c.port, c.what) for p, c in clients] == [
        ("shield", "10.9.0.2", resolved.process("shield").ports["admin"], "CDN edge shield"),
        ("edge", "127.0.0.1", resolved.process("edge").ports["admin"], "CDN edge edge"),
    ]
    assert all(c.namespace == p.netns for p, c in clients)


def test_a_tier_the_topology_does_not_run_has_no_clients(tmp_path: Path):
    resolved = with_admin_token(tmp_path, web={"tier": "web", "role": "app", "command": SLEEP})

    assert admin_clients(resolved, "cdn", "CDN edge") == []


def test_without_admin_host_on_its_command_line_it_is_the_namespaces_loopback():
    assert admin_host(["python", "-m", "x", "--admin-port", "9"]) == "127.0.0.1"
    assert admin_host(None, "10.0.0.1") == "10.0.0.1"
