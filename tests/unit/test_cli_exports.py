"""The public names of millionscale.cli are exactly the application and its entry point,
and the application holds every command, in the order --help lists them."""

import typer
from typer.core import TyperGroup

import millionscale.cli as cli


def group(command: object) -> TyperGroup:
    assert isinstance(command, TyperGroup)
    return command


def test_the_exported_names_are_exactly_these():
    assert set(cli.__all__) == {"app", "main"}
    assert all(hasattr(cli, name) for name in cli.__all__)


def test_the_app_holds_every_command_and_group():
    root = group(typer.main.get_command(cli.app))

    assert list(root.commands) == [
        "up", "down", "status", "logs", "version", "bench", "demo", "estimate", "discovery",
        "scale", "photos", "db", "lb", "cdn", "queue", "dns", "dc", "process",
    ]  # fmt: skip


def test_each_group_holds_its_sub_commands():
    commands = group(typer.main.get_command(cli.app)).commands
    groups = ("photos", "db", "lb", "cdn", "queue", "dns", "dc", "process")

    assert {name: list(group(commands[name]).commands) for name in groups} == {
        "photos": ["seed"],
        "db": ["status", "url", "psql", "switchover", "failover"],
        "lb": ["status", "add", "drain", "remove"],
        "cdn": ["purge"],
        "queue": ["status", "dead-letters", "retry"],
        "dns": ["query"],
        "dc": ["status", "cut", "join"],
        "process": ["add", "remove"],
    }
