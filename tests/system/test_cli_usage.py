"""Usage errors read as ours do (one line, what and how to fix it, exit 2); every
numeric option is range-checked before anything starts; --version and -h exist."""

import pytest

from conftest import Cli, placeholder

pytestmark = pytest.mark.system


def refusal(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        pytest.param(["up", "{topology}", "--detach", "--timeout", "-1"], "--timeout", id="up-neg"),
        pytest.param(["up", "{topology}", "--detach", "--timeout", "0"], "--timeout", id="up-zero"),
        pytest.param(
            ["up", "{topology}", "--detach", "--timeout", "nan"], "--timeout", id="up-nan"
        ),
        pytest.param(
            ["up", "{topology}", "--detach", "--timeout", "inf"], "--timeout", id="up-inf"
        ),
        pytest.param(["bench", "--target", "http://x", "--rate", "0"], "--rate", id="bench-rate"),
        pytest.param(["bench", "--target", "http://x", "--duration", "-5"], "--duration", id="dur"),
        pytest.param(["bench", "--target", "http://x", "--users", "0"], "--users", id="users"),
        pytest.param(
            ["bench", "--target", "http://x", "--connections", "0"], "--connections", id="c"
        ),
        pytest.param(["bench", "--target", "http://x", "--timeout", "0"], "--timeout", id="b-t"),
        pytest.param(
            ["bench", "--target", "http://x", "--slo-p99-ms", "-1"], "--slo-p99-ms", id="s"
        ),
        pytest.param(["demo", "--rate", "0"], "--rate", id="demo-rate"),
        pytest.param(["demo", "--duration", "nan"], "--duration", id="demo-duration"),
        pytest.param(["photos", "seed", "--seed", "-1"], "--seed", id="seed"),
        pytest.param(["lb", "add", "w", "127.0.0.1:1", "--weight", "0"], "--weight", id="weight"),
        pytest.param(["logs", "-n", "-1"], "--lines", id="lines"),
        pytest.param(["logs", "--level", "loud"], "--level", id="level"),
    ],
)
def test_an_out_of_range_number_is_refused_before_anything_starts(cli: Cli, args, option):
    topology = cli.write_topology('[topology]\nname = "t"\n' + placeholder())
    argv = [str(topology) if a == "{topology}" else a for a in args]

    line = refusal(cli.run(*argv))

    assert f"invalid value for '{option}'" in line
    assert line.endswith("--help')")
    status = cli.status()
    assert status["running"] is False
    assert status["processes"] == []


def test_an_unknown_option_reads_like_our_errors_with_the_close_match(cli: Cli):
    line = refusal(cli.run("status", "--jsn"))

    assert (
        line
        == "error: no such option: --jsn (did you mean --json? see 'millionscale status --help')"
    )


def test_an_unknown_command_names_where_to_look(cli: Cli):
    line = refusal(cli.run("stauts"))

    assert line.startswith("error: no such command 'stauts'")
    assert line.endswith("(see 'millionscale --help')")


def test_version_and_short_help_exist(cli: Cli):
    version = cli.run("--version")
    short = cli.run("db", "-h")

    assert version.returncode == 0
    assert version.stdout.startswith("millionscale ")
    assert short.returncode == 0
    assert "Usage: millionscale db" in short.stdout
    assert "psql" in short.stdout
