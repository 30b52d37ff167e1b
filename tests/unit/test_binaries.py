"""Finding engine binaries: override first, then PATH, then the usual places."""

import os
import stat
from pathlib import Path

import pytest

from millionscale.errors import BinaryNotFoundError
from millionscale.servers.binaries import find_binary, find_bindir


def make_executable(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_override_wins_over_path(tmp_path, monkeypatch):
    override = tmp_path / "override"
    make_executable(override, "redis-server")
    make_executable(tmp_path / "on-path", "redis-server")
    monkeypatch.setenv("PATH", str(tmp_path / "on-path") + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("MILLIONSCALE_REDIS_BINDIR", str(override))

    assert find_bindir("redis") == override


def test_an_override_without_the_binary_is_an_error_not_a_fall_through(tmp_path, monkeypatch):
    monkeypatch.setenv("MILLIONSCALE_NATS_BINDIR", str(tmp_path))

    with pytest.raises(BinaryNotFoundError, match="has no executable nats-server") as caught:
        find_bindir("nats")

    assert "MILLIONSCALE_NATS_BINDIR" in caught.value.hint


def test_path_is_searched_before_system_locations(tmp_path, monkeypatch):
    monkeypatch.delenv("MILLIONSCALE_NATS_BINDIR", raising=False)
    make_executable(tmp_path / "bin", "nats-server")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    assert find_bindir("nats") == tmp_path / "bin"


def test_symlinks_resolve_so_all_programs_come_from_one_installation(tmp_path, monkeypatch):
    real = tmp_path / "pg" / "bin"
    make_executable(real, "postgres")
    make_executable(real, "initdb")
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "postgres").symlink_to(real / "postgres")
    monkeypatch.delenv("MILLIONSCALE_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "links"))

    assert find_binary("postgres", "initdb") == real / "initdb"


def test_a_program_missing_beside_the_server_names_the_install_hint(tmp_path, monkeypatch):
    make_executable(tmp_path, "postgres")
    monkeypatch.setenv("MILLIONSCALE_PG_BINDIR", str(tmp_path))

    with pytest.raises(BinaryNotFoundError, match="pg_rewind for postgres not found") as caught:
        find_binary("postgres", "pg_rewind")

    assert "make engines" in caught.value.hint
