"""The balancer and the fault proxy read the admin token and never create it: without
one they exit 2 with the file and the fix, before they listen on anything."""

from __future__ import annotations

import pytest

from millionscale.chaos.__main__ import TOKEN_ENV as CHAOS_TOKEN_ENV
from millionscale.chaos.__main__ import main as chaos_main
from millionscale.db.monitor import build_monitor, parser
from millionscale.errors import ConfigError
from millionscale.lb.__main__ import TOKEN_ENV as LB_TOKEN_ENV
from millionscale.lb.__main__ import main as lb_main


def lb(state_dir: str) -> int:
    return lb_main(["--port", "0", "--admin-port", "0", "--state-dir", state_dir])


def chaos(state_dir: str) -> int:
    argv = ["--listen", "0", "--upstream", "127.0.0.1:80", "--admin-port", "0"]
    return chaos_main([*argv, "--state-dir", state_dir])


@pytest.mark.parametrize(("run", "env"), [(lb, LB_TOKEN_ENV), (chaos, CHAOS_TOKEN_ENV)])
def test_a_missing_token_exits_2_and_is_not_created(run, env, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(env, raising=False)

    code = run(str(tmp_path))

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: no admin token at {tmp_path / 'admin-token'}")
    assert "millionscale up" in err
    assert not (tmp_path / "admin-token").exists()


@pytest.mark.parametrize(("run", "env"), [(lb, LB_TOKEN_ENV), (chaos, CHAOS_TOKEN_ENV)])
def test_a_token_others_can_read_exits_2_with_the_fix(run, env, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(env, raising=False)
    token = tmp_path / "admin-token"
    token.write_text("s3cret\n")
    token.chmod(0o644)

    code = run(str(tmp_path))

    err = capsys.readouterr().err
    assert code == 2
    assert "is open to others (mode 0644)" in err
    assert f"chmod 600 {token}" in err
    assert "Traceback" not in err


def test_the_balancer_without_token_or_state_dir_says_both_ways(monkeypatch, capsys):
    monkeypatch.delenv(LB_TOKEN_ENV, raising=False)

    code = lb_main(["--port", "0", "--admin-port", "0"])

    assert code == 2
    assert capsys.readouterr().err == (
        f"error: the admin API needs a token (set {LB_TOKEN_ENV} or --state-dir)\n"
    )


def test_the_monitors_password_file_is_held_to_the_same_rule_as_the_token(tmp_path):
    password = tmp_path / "password"
    password.write_text("pw\n")
    password.chmod(0o644)
    token = tmp_path / "token"
    token.write_text("t\n")
    token.chmod(0o600)
    args = parser().parse_args(
        ["--discovery", f"file:{tmp_path / 'nodes.json'}", "--record", str(tmp_path / "r.json"),
         "--fence", "millionscale.db.fencing:command_fencer=/bin/true", "--token-file", str(token),
         "--password-file", str(password), "--port", "1"]
    )  # fmt: skip

    with pytest.raises(ConfigError, match=r"password file .* is open to others"):
        build_monitor(args)
    password.chmod(0o600)
    password.write_text("x" * 5000)
    with pytest.raises(ConfigError, match="longer than 4096 bytes"):
        build_monitor(args)
