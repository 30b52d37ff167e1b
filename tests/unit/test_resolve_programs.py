"""resolve refuses a command or engine whose program is nowhere, before anything runs."""

from pathlib import Path

import pytest
from factories import topology

from millionscale.errors import BinaryNotFoundError, TopologyError
from millionscale.topology.resolve import resolve


def _resolve(parsed, tmp_path: Path):
    return resolve(
        parsed,
        source=Path("t.toml"),
        state_dir=tmp_path / "state",
        pick_port=lambda host: 41001,
        is_port_free=lambda host, port: True,
    )


def test_a_command_whose_program_does_not_exist_is_refused(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["no-such-program-millionscale"]})

    with pytest.raises(TopologyError) as caught:
        _resolve(parsed, tmp_path)

    assert caught.value.message == (
        "processes.web.command: program 'no-such-program-millionscale' not found"
    )
    assert caught.value.hint == "install it, give its full path, or fix the name"


def test_a_program_given_by_a_path_that_does_not_exist_is_refused(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": [str(tmp_path / "missing")]})

    with pytest.raises(TopologyError, match=r"program '.*missing' not found"):
        _resolve(parsed, tmp_path)


def test_a_program_on_the_path_is_accepted_as_written(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["sh", "-c", "true"]})

    resolved = _resolve(parsed, tmp_path)

    assert resolved.process("web").argv == ["sh", "-c", "true"]


def test_the_python_placeholder_is_always_a_program(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["{python}", "-V"]})

    resolved = _resolve(parsed, tmp_path)

    assert resolved.process("web").argv is not None


def test_an_engine_whose_binary_is_missing_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MILLIONSCALE_REDIS_BINDIR", str(tmp_path))
    parsed = topology(cache={"tier": "cache", "engine": "redis"})

    with pytest.raises(BinaryNotFoundError, match="MILLIONSCALE_REDIS_BINDIR"):
        _resolve(parsed, tmp_path)


def test_an_engine_has_no_argv_but_a_data_dir_and_a_log(tmp_path: Path):
    parsed = topology(db={"tier": "db", "engine": "postgres"})

    db = _resolve(parsed, tmp_path).process("db")

    state = (tmp_path / "state").resolve()
    assert db.argv is None
    assert db.data_dir == str(state / "topologies" / "t" / "data" / "db")
    assert db.log_path == str(state / "logs" / "db.log")


def test_a_program_named_through_a_placeholder_is_looked_up_once_rendered(tmp_path: Path):
    # Placeholders are allowed anywhere in command, {state_dir} included; the
    # program that must exist is the rendered one, not the template text.
    tool = tmp_path / "state" / "bin" / "tool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    parsed = topology(web={"tier": "web", "command": ["{state_dir}/bin/tool", "--port", "{port}"]})

    resolved = _resolve(parsed, tmp_path)

    assert resolved.process("web").argv == [str(tool.resolve()), "--port", "41001"]
