"""Derivations as data: each figure of an estimate is a :class:`Step` that records
its formula, the numbers substituted into it, its result and its unit.

The formula is not a comment beside the arithmetic: it *is* the arithmetic.
:meth:`Derivation.step` parses the formula text (a small expression language:
names, numbers, ``+ - * /``, parentheses, ``ceil``, ``max`` and ``min``) and
evaluates it against the figures known so far, so the text an explanation
prints can never drift from what was computed. ``--explain`` and ``--json``
both read the same steps.

``ceil`` ignores a float error below 1e-9 (``ceil(2.0000000000004)`` is 2), so
a load that is exactly N nodes' worth needs N nodes, not N + 1.
"""

from __future__ import annotations

import ast
import enum
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Derivation", "Step", "Term", "Unit", "evaluate", "names_in"]


class Unit(enum.Enum):
    """What a figure counts; decides how it is printed."""

    USERS = "users"
    PER_DAY = "/day"
    REQ_PER_S = "req/s"
    JOBS_PER_S = "jobs/s"
    BYTES = "B"
    BYTES_PER_S = "B/s"
    SECONDS = "s"
    DAYS = "days"
    NODES = "nodes"
    RATIO = ""


@dataclass(frozen=True, slots=True)
class Term:
    """A number substituted into a formula: the name it had there, its value, its unit."""

    name: str
    value: float
    unit: Unit


@dataclass(frozen=True, slots=True)
class Step:
    """One derived figure: ``name = formula``, the terms it used, and what it came to."""

    name: str
    title: str
    formula: str
    terms: tuple[Term, ...]
    value: float
    unit: Unit

    def symbolic(self) -> str:
        """The formula as printed, with the signs of arithmetic: ``dau`` times
        ``writes_per_user`` divided by ``seconds_per_day``."""
        return _pretty(self.formula)

    def substituted(self, show: Callable[[Term], str]) -> str:
        """The formula with every name replaced by ``show(term)``."""
        terms = {t.name: t for t in self.terms}
        text = _NAME.sub(
            lambda m: show(terms[m[0]]) if m[0] in terms else m[0],
            self.formula,
        )
        return _pretty(text)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "ceil": lambda x: float(math.ceil(round(x, 9))),
    "max": max,
    "min": min,
}
_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


TIMES = "\N{MULTIPLICATION SIGN}"
DIVIDED_BY = "\N{DIVISION SIGN}"
MINUS = "\N{MINUS SIGN}"


def _pretty(text: str) -> str:
    return (
        text.replace(" * ", f" {TIMES} ")
        .replace(" / ", f" {DIVIDED_BY} ")
        .replace(" - ", f" {MINUS} ")
    )


@functools.lru_cache(maxsize=256)
def _parse(formula: str) -> ast.Expression:
    return ast.parse(formula, mode="eval")


@functools.lru_cache(maxsize=256)
def names_in(formula: str) -> tuple[str, ...]:
    """The variable names a formula reads, in order of first appearance."""
    tree = _parse(formula)
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
            seen[node.id] = None
    ordered = [m[0] for m in _NAME.finditer(formula) if m[0] in seen]
    return tuple(dict.fromkeys(ordered))


def evaluate(formula: str, values: Mapping[str, float]) -> float:
    """The value of ``formula`` with ``values`` for its names.

    Raises ValueError for anything outside the expression language or an
    unknown name; these are programming errors, never user input.
    """

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            if isinstance(node.value, bool):
                raise ValueError(f"{formula!r}: booleans are not numbers")
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ValueError(f"{formula!r}: unknown name {node.id!r}")
            return float(values[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            return float(_FUNCTIONS[node.func.id](*(walk(arg) for arg in node.args)))
        raise ValueError(f"{formula!r}: {ast.dump(node)} is not allowed in a formula")

    return walk(_parse(formula))


class Derivation:
    """Builds steps in order; each step may use the givens and every earlier step."""

    def __init__(self, given: Mapping[str, tuple[float, Unit]]) -> None:
        self._known: dict[str, tuple[float, Unit]] = dict(given)
        self._steps: list[Step] = []

    def step(self, name: str, title: str, formula: str, unit: Unit) -> float:
        """Evaluate ``formula``, record it as step ``name`` and return its value.

        Raises OverflowError if the value is not a finite number (the inputs
        were too large for floating point), naming the step.
        """
        if name in self._known:
            raise ValueError(f"{name!r} is already known")
        value = evaluate(formula, {k: v for k, (v, _) in self._known.items()})
        if not math.isfinite(value):
            raise OverflowError(f"{name} = {_pretty(formula)} is {value}")
        terms = tuple(Term(n, *self._known[n]) for n in names_in(formula))
        self._steps.append(Step(name, title, formula, terms, value, unit))
        self._known[name] = (value, unit)
        return value

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step so far, in the order they were derived."""
        return tuple(self._steps)
