"""Every mistake in a topology file is one TopologyError naming the file, the line and the key."""

from pathlib import Path
from textwrap import dedent

import pytest

from millionscale.errors import TopologyError
from millionscale.topology.load import load_topology, parse_topology

HEAD = dedent(
    """\
    [topology]
    name = "t"
    """
)  # lines 1-2: the process tables of each test start on line 4 after a blank line


def _error(body: str) -> TopologyError:
    """The error that parsing ``HEAD + body`` from ``t.toml`` raises."""
    with pytest.raises(TopologyError) as caught:
        parse_topology(HEAD + "\n" + dedent(body), "t.toml")
    return caught.value


def test_malformed_toml_names_the_file_and_line():
    error = _error(
        """\
        [processes.web
        tier = "web"
        """
    )

    assert error.message.startswith("t.toml:4: not valid TOML: ")
    assert error.hint == "fix the TOML syntax at that line"


def test_an_unknown_key_is_named_with_its_line_and_a_guess():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        restart = { polcy = "always" }
        """
    )

    assert error.message == "t.toml:7: processes.web.restart.polcy: unknown key"
    assert error.hint.startswith("did you mean 'policy'? allowed: policy, max_restarts, ")


def test_an_unknown_key_without_a_close_match_lists_what_is_allowed():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        zzz = 1
        """
    )

    assert error.message == "t.toml:7: processes.web.zzz: unknown key"
    assert not error.hint.startswith("did you mean")
    assert "allowed: tier, datacenter, role, engine, command" in error.hint


def test_a_misspelt_optional_key_is_not_silently_ignored():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        comand = ["sh"]
        """
    )

    assert error.message == "t.toml:6: processes.web.comand: unknown key"
    assert error.hint.startswith("did you mean 'command'?")


def test_an_unknown_top_level_key_is_an_error():
    with pytest.raises(TopologyError) as caught:
        parse_topology(
            'nam = "t"\n' + HEAD + '[processes.web]\ntier = "web"\ncommand = ["sh"]\n', "t.toml"
        )

    assert caught.value.message == "t.toml:1: nam: unknown key"
    assert caught.value.hint == "allowed: topology, hosts, processes, wan"


def test_a_missing_required_key_points_at_its_table():
    error = _error(
        """\
        [processes.web]
        command = ["sh"]
        """
    )

    assert error.message == "t.toml:4: processes.web.tier: missing"
    assert error.hint == "add the key 'tier'"


def test_a_missing_topology_table_has_no_line_to_point_at():
    with pytest.raises(TopologyError) as caught:
        parse_topology('[processes.web]\ntier = "web"\ncommand = ["sh"]\n', "t.toml")

    assert caught.value.message == "t.toml: topology: missing"


def test_a_value_of_the_wrong_type_names_the_key_and_the_expected_type():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        command = "sh -c true"
        """
    )

    assert error.message == "t.toml:6: processes.web.command: Input should be a valid list"


def test_a_bad_restart_policy_lists_the_policies_that_exist():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        restart = { policy = "sometimes" }
        """
    )

    assert error.message == (
        "t.toml:7: processes.web.restart.policy: Input should be 'on-failure', 'always' or 'never'"
    )


def test_several_problems_report_the_first_and_count_the_rest():
    error = _error(
        """\
        [processes.web]
        tier = "Web"
        command = "sh"
        """
    )

    assert error.message.startswith("t.toml:5: processes.web.tier: ")
    assert error.message.endswith("(and 1 more)")


def test_engine_and_command_together_are_refused():
    error = _error(
        """\
        [processes.db]
        tier = "db"
        engine = "redis"
        command = ["redis-server"]
        """
    )

    assert error.message == (
        "t.toml:4: processes.db: set exactly one of 'engine' (postgres, redis, nats) and 'command'"
    )


def test_neither_engine_nor_command_is_refused():
    error = _error(
        """\
        [processes.db]
        tier = "db"
        """
    )

    assert error.message == (
        "t.toml:4: processes.db: set exactly one of 'engine' (postgres, redis, nats) and 'command'"
    )


def test_an_unknown_engine_is_refused():
    error = _error(
        """\
        [processes.db]
        tier = "db"
        engine = "mysql"
        """
    )

    assert error.message == (
        "t.toml:6: processes.db.engine: Input should be 'postgres', 'redis' or 'nats'"
    )


def test_depends_on_naming_an_unknown_process_points_at_the_depends_on_line():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        depends_on = ["db"]
        """
    )

    assert error.message == (
        "t.toml:7: processes.web.depends_on names 'db', which is not a process"
    )


def test_a_process_depending_on_itself_is_refused():
    error = _error(
        """\
        [processes.web]
        tier = "web"
        command = ["sh"]
        depends_on = ["web"]
        """
    )

    assert error.message == "t.toml:7: processes.web.depends_on names the process itself"


def test_a_placeholder_of_a_process_not_in_depends_on_is_refused():
    error = _error(
        """\
        [processes.db]
        tier = "db"
        engine = "redis"

        [processes.web]
        tier = "web"
        command = ["sh"]
        env = { CACHE_URL = "{db.url}" }
        """
    )

    assert error.message == (
        "t.toml:8: processes.web uses {db.url} but does not depend on 'db': add it to depends_on"
    )


def test_a_dependency_cycle_is_refused_with_its_path():
    error = _error(
        """\
        [processes.a]
        tier = "a"
        command = ["sh"]
        depends_on = ["b"]

        [processes.b]
        tier = "b"
        command = ["sh"]
        depends_on = ["a"]
        """
    )

    assert error.message == "t.toml: dependency cycle: a -> b -> a"
    assert "remove one of these depends_on entries" in error.hint


def test_a_process_name_that_is_not_a_short_lowercase_name_is_refused():
    error = _error(
        """\
        [processes.Web]
        tier = "web"
        command = ["sh"]
        """
    )

    assert error.message.startswith("t.toml:4: processes.Web.[key]: String should match pattern")


def test_a_topology_without_processes_is_refused():
    with pytest.raises(TopologyError, match=r"^t\.toml: processes: missing$"):
        parse_topology(HEAD, "t.toml")


def test_a_missing_file_is_a_topology_error_naming_the_path(tmp_path: Path):
    path = tmp_path / "nope.toml"

    with pytest.raises(TopologyError) as caught:
        load_topology(path)

    assert caught.value.message == f"topology file {path} does not exist"
    assert "give the path of a .toml file" in caught.value.hint


def test_a_file_that_is_not_utf8_is_a_topology_error(tmp_path: Path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[topology]\nname = "caf\xe9"\n')

    with pytest.raises(TopologyError, match=rf"^cannot read topology file {path}: "):
        load_topology(path)


def test_errors_from_a_file_are_located_by_its_path(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + '\n[processes.web]\ntier = "web"\n')

    with pytest.raises(TopologyError, match=rf"^{path}:4: processes\.web: set exactly one of"):
        load_topology(path)


def test_a_misspelt_table_is_reported_as_unknown_before_the_missing_one():
    error = _error(
        """\
        [proceses.web]
        tier = "web"
        command = ["x"]
        """
    )

    assert error.message.startswith("t.toml:4: proceses: unknown key")
    assert "did you mean 'processes'?" in error.hint


@pytest.mark.parametrize("port", ["70000", "0", '"eighty"', "true"])
def test_a_bad_port_says_what_a_port_is_without_pydantic_internals(port):
    error = _error(
        f"""\
        [processes.web]
        tier = "web"
        command = ["x"]
        port = {port}
        """
    )

    assert error.message.startswith("t.toml:7: processes.web.port: must be a port number")
    assert "or 'auto'" in error.message
    assert "constrained" not in error.message
