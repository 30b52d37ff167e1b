"""Reading a topology file into a :class:`~millionscale.topology.model.Topology`.

Every problem becomes one :class:`~millionscale.errors.TopologyError` whose
message names the file, the line and the key, and whose hint says how to fix
it::

    topologies/x.toml:14: processes.web.restart.polcy: unknown key
    (did you mean 'policy'? allowed: policy, max_restarts, ...)
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError

from millionscale.errors import TopologyError
from millionscale.topology.model import Topology
from millionscale.topology.order import start_order

__all__ = ["line_of", "load_topology", "parse_topology"]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")
_PATH_IN_MESSAGE = re.compile(r"\bprocesses\.[a-z0-9-]+(?:\.[a-z_]+)?")


def _split_key(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in text.split(".")]


def line_of(text: str, loc: Sequence[str | int]) -> int | None:
    """The 1-based line where the key at ``loc`` (a pydantic location) is written.

    Falls back to the line of the nearest enclosing key or table that is
    written; None when nothing of ``loc`` appears.
    """
    want = [str(part) for part in loc]
    best: tuple[int, int] | None = None  # (matched depth, line)
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            paths = [table]
        else:
            key = _KEY.match(line)
            if not key:
                continue
            path = table + _split_key(key.group(1))
            paths = [path]
            # keys inside an inline table on this line: env = { A = "x" }
            rest = line[key.end() :]
            if "{" in rest:
                paths += [[*path, inner] for inner in _INLINE_KEY.findall(rest)]
        for path in paths:
            depth = 0
            for have, wanted in zip(path, want, strict=False):
                if have != wanted:
                    break
                depth += 1
            whole = depth == min(len(path), len(want))  # one is a prefix of the other
            if whole and depth > 0 and (best is None or depth > best[0]):
                best = (depth, number)
    return best[1] if best else None


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the table holding ``loc[-1]`` accepts, read from the model itself."""
    node: object = Topology
    for part in loc[:-1]:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            node = field.annotation if field else None
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]  # the value type of a mapping such as processes
        else:
            return []
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _describe(error: dict[str, object], text: str) -> tuple[str, str, int | None]:
    loc: tuple[str | int, ...] = tuple(error["loc"])  # type: ignore[arg-type]
    kind = str(error["type"])
    message = str(error["msg"]).removeprefix("Value error, ")
    key = ".".join(str(part) for part in loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        return f"{key}: unknown key", f"{guess}allowed: {', '.join(allowed)}", line_of(text, loc)
    if kind == "missing":
        return f"{key}: missing", f"add the key {loc[-1]!r}", line_of(text, loc[:-1])
    if not loc:
        found = _PATH_IN_MESSAGE.search(message)
        path = found.group(0).split(".") if found else []
        return message, "fix the value named in the message", line_of(text, path)
    return f"{key}: {message}", "fix the value", line_of(text, loc)


def parse_topology(text: str, source: str = "<topology>") -> Topology:
    """Parse and validate topology text; raise :class:`TopologyError` on any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        where = f"{source}:{found.group(1)}" if found else source
        raise TopologyError(
            f"{where}: not valid TOML: {error}", hint="fix the TOML syntax at that line"
        ) from None
    try:
        topology = Topology.model_validate(data)
    except ValidationError as error:
        # An unknown key first: a misspelt key also makes the real one "missing".
        errors = sorted(
            error.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden"
        )
        message, hint, line = _describe(dict(errors[0]), text)
        where = f"{source}:{line}" if line else source
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise TopologyError(f"{where}: {message}{more}", hint=hint) from None
    try:
        start_order(topology)
    except TopologyError as error:
        raise TopologyError(f"{source}: {error.message}", hint=error.hint) from None
    return topology


def load_topology(path: Path) -> Topology:
    """Read and validate the topology file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyError(
            f"topology file {path} does not exist",
            hint="give the path of a .toml file, such as topologies/demo.toml",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise TopologyError(
            f"cannot read topology file {path}: {error}",
            hint="check the path and that it is a UTF-8 text file",
        ) from None
    return parse_topology(text, str(path))
