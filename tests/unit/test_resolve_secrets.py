"""Engine secrets are generated once, kept owner-only in the topology's home under
state_dir, and reused by that topology only."""

import json
import stat
from pathlib import Path

from factories import topology

from millionscale.topology.model import Topology
from millionscale.topology.resolve import resolve


def _resolve(parsed, state_dir: Path, port: int = 41001):
    return resolve(
        parsed,
        source=Path("t.toml"),
        state_dir=state_dir,
        pick_port=lambda host: port,
        is_port_free=lambda host, port: True,
    )


ONE_ENGINE = {"cache": {"tier": "cache", "engine": "redis"}}


def _secrets_file(state_dir: Path, name: str = "t") -> Path:
    return state_dir / "topologies" / name / "secrets.json"


def test_every_process_gets_its_own_secret(tmp_path: Path):
    parsed = topology(
        db={"tier": "db", "engine": "postgres", "port": 45432},
        cache={"tier": "cache", "engine": "redis", "port": 46379},
        web={"tier": "web", "command": ["sh"]},
    )

    resolved = _resolve(parsed, tmp_path / "state")

    secrets = [resolved.process(n).secret for n in ("db", "cache", "web")]
    assert len(set(secrets)) == 3
    assert all(len(secret) >= 43 for secret in secrets)  # token_urlsafe(32): 256 random bits


def test_a_command_receives_its_secret_through_the_placeholder(tmp_path: Path):
    parsed = topology(web={"tier": "web", "command": ["sh"], "env": {"SECRET_KEY": "{secret}"}})

    web = _resolve(parsed, tmp_path / "state").process("web")

    assert web.env == {"SECRET_KEY": web.secret}


def test_secrets_are_saved_in_the_state_dir_readable_by_the_owner_only(tmp_path: Path):
    state_dir = tmp_path / "state"

    resolved = _resolve(topology(**ONE_ENGINE), state_dir)

    path = _secrets_file(state_dir)
    assert json.loads(path.read_text()) == {"cache": resolved.process("cache").secret}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_second_resolve_reuses_the_saved_secret(tmp_path: Path):
    state_dir = tmp_path / "state"
    first = _resolve(topology(**ONE_ENGINE), state_dir, port=41001)

    second = _resolve(topology(**ONE_ENGINE), state_dir, port=41002)

    assert second.process("cache").secret == first.process("cache").secret
    assert second.process("cache").ports == {"main": 41002}


def test_secrets_of_engines_no_longer_in_the_topology_are_kept(tmp_path: Path):
    state_dir = tmp_path / "state"
    _resolve(topology(old={"tier": "cache", "engine": "redis"}), state_dir)
    old_secret = json.loads(_secrets_file(state_dir).read_text())["old"]

    _resolve(topology(**ONE_ENGINE), state_dir)

    saved = json.loads(_secrets_file(state_dir).read_text())
    assert set(saved) == {"old", "cache"}
    assert saved["old"] == old_secret


def test_an_unreadable_secrets_file_is_replaced_by_new_secrets(tmp_path: Path):
    state_dir = tmp_path / "state"
    _secrets_file(state_dir).parent.mkdir(parents=True)
    _secrets_file(state_dir).write_text("{not json")

    resolved = _resolve(topology(**ONE_ENGINE), state_dir)

    saved = json.loads(_secrets_file(state_dir).read_text())
    assert saved == {"cache": resolved.process("cache").secret}


def test_resolve_writes_nothing_but_the_secrets_file(tmp_path: Path):
    state_dir = tmp_path / "state"

    _resolve(topology(**ONE_ENGINE), state_dir)

    written = sorted(str(p.relative_to(state_dir)) for p in state_dir.rglob("*") if p.is_file())
    assert written == ["topologies/t/secrets.json"]


def test_another_topology_never_reuses_a_topologys_secrets(tmp_path: Path):
    state_dir = tmp_path / "state"
    first = _resolve(topology(**ONE_ENGINE), state_dir)
    other = Topology.model_validate({"topology": {"name": "other"}, "processes": ONE_ENGINE})

    second = _resolve(other, state_dir)

    assert second.process("cache").secret != first.process("cache").secret
    assert json.loads(_secrets_file(state_dir, "other").read_text()) == {
        "cache": second.process("cache").secret
    }


def test_the_state_dir_it_creates_is_owner_only(tmp_path: Path):
    state_dir = tmp_path / "state"

    _resolve(topology(**ONE_ENGINE), state_dir)

    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


def test_a_command_keeps_its_secret_across_runs(tmp_path: Path):
    state_dir = tmp_path / "state"
    parsed = topology(web={"tier": "web", "command": ["sh"]})

    first = _resolve(parsed, state_dir).process("web").secret
    second = _resolve(parsed, state_dir).process("web").secret

    assert first == second
