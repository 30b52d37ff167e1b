"""line_of finds the line a key is written on, however the TOML spells its path."""

from textwrap import dedent

from millionscale.topology.load import line_of

TEXT = dedent(
    """\
    [topology]
    name = "t"

    [processes.db]
    tier = "db"
    engine = "postgres"

    [processes.web]
    tier = "web"
    env = { DATABASE_URL = "{db.url}", MODE = "dev" }
    readiness.timeout_s = 30
    "depends_on" = ["db"]

    [processes.web.restart]
    policy = "always"
    """
)


def test_a_key_in_a_table_is_found_on_its_own_line():
    assert line_of(TEXT, ("processes", "db", "engine")) == 6


def test_the_same_key_in_two_tables_is_found_in_the_right_one():
    assert line_of(TEXT, ("processes", "db", "tier")) == 5
    assert line_of(TEXT, ("processes", "web", "tier")) == 9


def test_a_table_is_found_on_its_header():
    assert line_of(TEXT, ("processes", "web")) == 8


def test_a_key_in_a_nested_table_header_is_found():
    assert line_of(TEXT, ("processes", "web", "restart", "policy")) == 15


def test_a_dotted_key_is_found():
    assert line_of(TEXT, ("processes", "web", "readiness", "timeout_s")) == 11


def test_a_key_inside_an_inline_table_is_found_on_the_line_of_the_table():
    assert line_of(TEXT, ("processes", "web", "env", "MODE")) == 10


def test_a_quoted_key_is_found():
    assert line_of(TEXT, ("processes", "web", "depends_on")) == 12


def test_a_list_index_falls_back_to_the_key_holding_the_list():
    assert line_of(TEXT, ("processes", "web", "depends_on", 0)) == 12


def test_a_key_not_written_falls_back_to_its_nearest_written_table():
    assert line_of(TEXT, ("processes", "db", "restart", "policy")) == 4


def test_nothing_is_found_for_a_path_absent_from_the_text():
    assert line_of(TEXT, ("services", "web")) is None


def test_nothing_is_found_for_an_empty_path():
    assert line_of(TEXT, ()) is None


def test_a_comment_after_a_table_header_does_not_hide_it():
    text = '[topology]  # the name\nname = "t"\n'

    assert line_of(text, ("topology", "name")) == 2
    assert line_of(text, ("topology",)) == 1
