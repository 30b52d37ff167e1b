"""The ``millionscale`` command tree, and :func:`main`, where a run of it ends.

Each command lives in the module named after it; this module puts them in one
tree (in the order ``--help`` lists them) and turns what a run raises into an
exit code: a user's error (a :class:`~millionscale.errors.MillionscaleError`, a
usage error) is one line on stderr and code 2; anything else is a bug and ends
in its traceback.
"""

from __future__ import annotations

import signal
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

# typer 0.29 carries its own click; its usage errors are these (typer exports only BadParameter).
from typer._click.exceptions import NoArgsIsHelpError, NoSuchOption, UsageError

from millionscale.cli._bench import bench
from millionscale.cli._cdn import cdn_app
from millionscale.cli._console import err_console
from millionscale.cli._db import db_app
from millionscale.cli._dc import dc_app
from millionscale.cli._demo import demo
from millionscale.cli._discovery import discovery
from millionscale.cli._dns import dns_app
from millionscale.cli._estimate import estimate
from millionscale.cli._lb import lb_app
from millionscale.cli._lifecycle import down, up
from millionscale.cli._logs import logs
from millionscale.cli._photos import photos_app
from millionscale.cli._process import process_app
from millionscale.cli._queue import queue_app
from millionscale.cli._scale import scale
from millionscale.cli._status import status
from millionscale.errors import MillionscaleError

PROG = "millionscale"
app = typer.Typer(
    name=PROG,
    help="Scale a web service from one server to millions of users, for real.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version() -> str:
    try:
        return version("millionscale")
    except PackageNotFoundError:
        return "unknown"


def _print_version(show: bool) -> None:
    if show:
        print(f"millionscale {_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print millionscale's version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """Scale a web service from one server to millions of users, for real."""


def show_version() -> None:
    """Print millionscale's version."""
    print(f"millionscale {_version()}")


app.command()(up)
app.command()(down)
app.command()(status)
app.command()(logs)
app.command(name="version")(show_version)
app.command()(bench)
app.command()(demo)
app.command()(estimate)
app.add_typer(photos_app, name="photos")
app.add_typer(db_app, name="db")
app.add_typer(lb_app, name="lb")
app.add_typer(cdn_app, name="cdn")
app.add_typer(queue_app, name="queue")
app.add_typer(dns_app, name="dns")
app.add_typer(dc_app, name="dc")
app.command()(discovery)
app.add_typer(process_app, name="process")
app.command()(scale)


def usage_line(error: UsageError) -> str:
    """A usage error (click's or typer's) as our errors read: ``what (how to fix it)``."""
    where = error.ctx.command_path if error.ctx is not None else PROG
    hint = f"see '{where} --help'"
    if isinstance(error, NoSuchOption):
        message = error.message
        if error.possibilities:
            hint = f"did you mean {', '.join(sorted(error.possibilities))}? {hint}"
    else:
        message = error.format_message()
    message = " ".join(message.split()).rstrip(".")
    return f"{message[:1].lower()}{message[1:]} ({hint})"


def main() -> None:
    """Entry point: run the app, turning our errors and usage errors into one line and
    exit code 2."""
    # Ctrl-C stops a foreground `up` or `logs --follow`, even when started from a
    # shell that ignores SIGINT in its background jobs (Python then keeps it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = app(standalone_mode=False, prog_name=PROG)
    except MillionscaleError as error:
        err_console.print(
            f"error: {error.one_line()}", markup=False, highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None
    except NoArgsIsHelpError as error:
        error.show()  # the help text: `millionscale` or `millionscale db` with nothing more
        raise SystemExit(2) from None
    except UsageError as error:  # unknown option, bad or out-of-range value
        err_console.print(
            f"error: {usage_line(error)}", markup=False, highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
