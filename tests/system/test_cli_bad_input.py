"""Bad input to the command line: one line saying what and how to fix, exit 2, nothing running."""

import socket

import pytest

from conftest import Cli, placeholder

pytestmark = pytest.mark.system

GOOD_HEAD = '[topology]\nname = "t"\n'


def assert_clean_refusal(result, *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0]


def assert_nothing_running(cli: Cli) -> None:
    status = cli.status()
    assert status["running"] is False
    assert all(p["pid"] is None for p in status["processes"])


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        pytest.param(
            '[topology\nname = "t"\n', ["topology.toml:1", "not valid TOML"], id="malformed-toml"
        ),
        pytest.param(
            GOOD_HEAD + placeholder(extra="prot = 8000"),
            ["topology.toml:8", "processes.web.prot: unknown key", "did you mean 'port'"],
            id="unknown-key",
        ),
        pytest.param(
            GOOD_HEAD
            + placeholder("a", extra='depends_on = ["b"]')
            + placeholder("b", extra='depends_on = ["a"]'),
            ["dependency cycle: a -> b -> a"],
            id="cycle",
        ),
        pytest.param(
            GOOD_HEAD + placeholder(extra='restart = { policy = "sometimes" }'),
            ["processes.web.restart.policy"],
            id="bad-enum",
        ),
        pytest.param(
            GOOD_HEAD + '[processes.web]\ntier = "web"\n',
            ["set exactly one of 'engine'"],
            id="neither-engine-nor-command",
        ),
        pytest.param(
            GOOD_HEAD + placeholder(extra='env = { X = "{db.url}" }'),
            ["does not depend on 'db'"],
            id="reference-without-dependency",
        ),
        pytest.param(
            GOOD_HEAD + '[processes.web]\ntier = "web"\ncommand = ["no-such-program-here"]\n',
            ["program 'no-such-program-here' not found"],
            id="missing-program",
        ),
    ],
)
def test_a_bad_topology_file_is_refused(cli: Cli, text, needles):
    topology = cli.write_topology(text)

    result = cli.run("up", str(topology), "--detach")

    assert_clean_refusal(result, *needles)
    assert_nothing_running(cli)


def test_a_port_already_taken_is_refused(cli: Cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        topology = cli.write_topology(GOOD_HEAD + placeholder(extra=f"port = {port}"))

        result = cli.run("up", str(topology), "--detach")

    assert_clean_refusal(result, f"127.0.0.1:{port} is already in use")
    assert_nothing_running(cli)


def test_a_missing_engine_binary_is_refused(cli: Cli, tmp_path):
    cli.env["MILLIONSCALE_NATS_BINDIR"] = str(tmp_path / "empty")
    topology = cli.write_topology(
        GOOD_HEAD + '[processes.db]\ntier = "db"\nengine = "postgres"\n'
        '[processes.q]\ntier = "queue"\nengine = "nats"\n'
    )

    result = cli.run("up", str(topology), "--detach")

    assert_clean_refusal(result, "MILLIONSCALE_NATS_BINDIR", "has no executable nats-server")
    assert_nothing_running(cli)


def test_a_missing_topology_file_is_refused(cli: Cli):
    result = cli.run("up", "no/such/file.toml", "--detach")

    assert_clean_refusal(result, "does not exist")


def test_an_unknown_process_name_is_refused(cli: Cli):
    topology = cli.write_topology(GOOD_HEAD + placeholder())
    assert cli.run("up", str(topology), "--detach").returncode == 0

    result = cli.run("logs", "nope")

    assert_clean_refusal(result, "unknown process 'nope'", "known: supervisor, web")


def test_a_second_up_on_the_same_state_is_refused(cli: Cli):
    topology = cli.write_topology(GOOD_HEAD + placeholder())
    assert cli.run("up", str(topology), "--detach").returncode == 0

    result = cli.run("up", str(topology), "--detach")

    assert_clean_refusal(result, "already runs", "millionscale down")


def test_an_unknown_option_is_a_usage_error(cli: Cli):
    result = cli.run("status", "--jsn")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--jsn" in result.stderr


def test_down_with_nothing_running_says_so(cli: Cli):
    result = cli.run("down")

    assert result.returncode == 0
    assert "nothing is running" in result.stdout
