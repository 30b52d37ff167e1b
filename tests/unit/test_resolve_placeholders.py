"""resolve renders every placeholder of command and env; an unknown one is an error."""

import sys
from pathlib import Path

import pytest
from factories import topology

from millionscale.errors import TopologyError
from millionscale.topology.resolve import resolve


def _resolve(parsed, tmp_path: Path, *ports: int):
    handed = iter(ports)
    return resolve(
        parsed,
        source=Path("t.toml"),
        state_dir=tmp_path / "state",
        pick_port=lambda host: next(handed),
        is_port_free=lambda host, port: True,
    )


def test_own_placeholders_are_rendered_in_the_command(tmp_path: Path):
    parsed = topology(
        web={
            "tier": "web",
            "command": ["{python}", "-m", "app", "--port", "{port}", "--name", "{name}"],
        }
    )

    resolved = _resolve(parsed, tmp_path, 41001)

    assert resolved.process("web").argv == [
        sys.executable, "-m", "app", "--port", "41001", "--name", "web",
    ]  # fmt: skip


def test_host_address_and_state_dir_are_rendered_in_env(tmp_path: Path):
    parsed = topology(
        web={
            "tier": "web",
            "command": ["sh"],
            "address": "127.0.0.2",
            "env": {"HOST": "{host}", "ADDRESS": "{address}", "STATE": "{state_dir}/web"},
        }
    )

    resolved = _resolve(parsed, tmp_path, 41001)

    assert resolved.process("web").env == {
        "HOST": "127.0.0.2",
        "ADDRESS": "127.0.0.2:41001",
        "STATE": f"{(tmp_path / 'state').resolve()}/web",
    }


def test_a_dependency_s_url_port_and_address_are_rendered(tmp_path: Path):
    parsed = topology(
        db={"tier": "db", "engine": "postgres"},
        web={
            "tier": "web",
            "command": ["sh"],
            "depends_on": ["db"],
            "env": {"DATABASE_URL": "{db.url}", "DB_PORT": "{db.port}", "DB": "{db.address}"},
        },
    )

    resolved = _resolve(parsed, tmp_path, 45432, 41001)

    secret = resolved.process("db").secret
    assert resolved.process("web").env == {
        "DATABASE_URL": f"postgresql://postgres:{secret}@127.0.0.1:45432/postgres",
        "DB_PORT": "45432",
        "DB": "127.0.0.1:45432",
    }


def test_text_around_placeholders_is_kept(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["sh", "--bind=[{host}]:{port}!"]})

    resolved = _resolve(parsed, tmp_path, 41001)

    assert resolved.process("web").argv == ["sh", "--bind=[127.0.0.1]:41001!"]


def test_an_unknown_placeholder_in_the_command_names_the_command(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["sh", "{nope}"]})

    with pytest.raises(TopologyError) as caught:
        _resolve(parsed, tmp_path, 41001)

    assert caught.value.message == "processes.web.command: unknown placeholder {nope}"
    assert "{python}, {name}, {host}, {port}" in caught.value.hint


def test_an_unknown_placeholder_in_env_names_the_variable(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["sh"], "env": {"MODE": "{mode}"}})

    with pytest.raises(
        TopologyError, match=r"^processes\.web\.env\.MODE: unknown placeholder \{mode\}$"
    ):
        _resolve(parsed, tmp_path, 41001)


def test_an_unknown_attribute_of_a_dependency_is_an_unknown_placeholder(tmp_path: Path):
    parsed = topology(
        db={"tier": "db", "engine": "redis"},
        web={"tier": "web", "command": ["sh", "{db.password}"], "depends_on": ["db"]},
    )

    with pytest.raises(
        TopologyError, match=r"^processes\.web\.command: unknown placeholder \{db\.password\}$"
    ):
        _resolve(parsed, tmp_path, 46379, 41001)


def test_a_command_dependency_has_no_url(tmp_path: Path):
    parsed = topology(
        api={"tier": "api", "command": ["sh"]},
        web={"tier": "web", "command": ["sh"], "env": {"API": "{api.url}"}, "depends_on": ["api"]},
    )

    with pytest.raises(
        TopologyError, match=r"^processes\.web\.env\.API: unknown placeholder \{api\.url\}$"
    ):
        _resolve(parsed, tmp_path, 41001, 41002)


def test_a_process_has_no_url_placeholder_of_its_own(tmp_path: Path):
    parsed = topology(
        cache={"tier": "cache", "engine": "redis"}, web={"tier": "web", "command": ["sh", "{url}"]}
    )

    with pytest.raises(TopologyError, match=r"unknown placeholder \{url\}"):
        _resolve(parsed, tmp_path, 46379, 41001)
