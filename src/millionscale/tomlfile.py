"""TOML files checked by a pydantic model, with errors that name the line and the key.

Topology files and estimate scenarios are both read this way. Every problem
becomes one :class:`~millionscale.errors.ConfigError` (of the class the caller
chooses) whose message names the file, the line and the key, and whose hint
says how to fix it::

    topologies/x.toml:14: processes.web.restart.polcy: unknown key
    (did you mean 'policy'? allowed: policy, max_restarts, ...)

A validator that wants its own hint raises :class:`FieldError`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from millionscale.errors import ConfigError

__all__ = ["FieldError", "line_of", "parse", "read"]

Model = TypeVar("Model", bound=BaseModel)

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")
# A dotted key inside a model-level error's message, e.g. "processes.web.depends_on".
_PATH_IN_MESSAGE = re.compile(r"\b[a-z_]+\.[a-z0-9_-]+(?:\.[a-z_]+)?")


class FieldError(ValueError):
    """Raised by a validator: a bad value, with the hint pydantic would otherwise drop."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


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


def _allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the table holding ``loc[-1]`` accepts, read from the model itself."""
    node: object = model
    for part in loc[:-1]:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            node = field.annotation if field else None
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]  # the value type of a mapping of tables
        else:
            return []
        if typing.get_origin(node) in (typing.Union, type(int | None)):
            tables = [a for a in typing.get_args(node) if isinstance(a, type)]
            node = next((a for a in tables if issubclass(a, BaseModel)), node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _describe(
    model: type[BaseModel], error: Mapping[str, Any], text: str
) -> tuple[str, str, int | None]:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    kind = str(error["type"])
    message = str(error["msg"]).removeprefix("Value error, ")
    key = ".".join(str(part) for part in loc)
    cause = (error.get("ctx") or {}).get("error")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        return f"{key}: unknown key", f"{guess}allowed: {', '.join(allowed)}", line_of(text, loc)
    if kind == "missing":
        return f"{key}: missing", f"add the key {loc[-1]!r}", line_of(text, loc[:-1])
    if isinstance(cause, FieldError):
        return f"{key}: {cause}", cause.hint, line_of(text, loc)
    if kind in ("model_type", "model_attributes_type"):
        return (
            f"{key}: must be a table",
            f"write [{key}] with its keys under it",
            line_of(text, loc),
        )
    if not loc:
        found = _PATH_IN_MESSAGE.search(message)
        path = found.group(0).split(".") if found else []
        return message, "fix the value named in the message", line_of(text, path)
    return f"{key}: {message}", "fix the value", line_of(text, loc)


def parse(
    text: str, model: type[Model], *, source: str, error: type[ConfigError] = ConfigError
) -> Model:
    """Parse TOML ``text`` into ``model``; raise ``error`` naming ``source``, line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        found = re.search(r"line (\d+)", str(problem))
        where = f"{source}:{found.group(1)}" if found else source
        raise error(
            f"{where}: not valid TOML: {problem}", hint="fix the TOML syntax at that line"
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        # An unknown key first: a misspelt key also makes the real one "missing".
        errors = sorted(
            problem.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden"
        )
        message, hint, line = _describe(model, dict(errors[0]), text)
        where = f"{source}:{line}" if line else source
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise error(f"{where}: {message}{more}", hint=hint) from None


def read(path: Path, *, what: str, example: str, error: type[ConfigError] = ConfigError) -> str:
    """The text of the ``what`` file at ``path``; ``error`` saying why if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(
            f"{what} file {path} does not exist",
            hint=f"give the path of a .toml file, such as {example}",
        ) from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error(
            f"cannot read {what} file {path}: {problem}",
            hint="check the path and that it is a UTF-8 text file",
        ) from None
