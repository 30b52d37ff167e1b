"""One exception tree: errors.py exports exactly its classes, and every exception class
defined anywhere in src/ derives from it, or is listed here with the reason it does not."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import millionscale
import millionscale.errors as errors
from millionscale.errors import MillionscaleBug, MillionscaleError

SRC = Path(millionscale.__file__).parent

# Exceptions that stay outside the tree on purpose: (module, qualified name) -> why.
DELIBERATE = {
    ("millionscale.cache.broadcast", "_Lost"): "private: the listener's connection dropped",
    ("millionscale.cache.codec", "UndecodableValue"): "a ValueError the tier reads as a miss",
    ("millionscale.cache.envelope", "CorruptEnvelope"): "a ValueError the tier reads as a miss",
    ("millionscale.cache.l2", "L2Unavailable"): "never escapes: the tier falls to the loader",
    ("millionscale.cache.leases", "UnexpectedReply"): "a ValueError of the pure reply parser",
    (
        "millionscale.topology.endpoint",
        "_BadRequest",
    ): "private: a control request's body or query, answered 4xx",
    ("millionscale.cdn.cachecontrol", "_InvalidField"): "private: a field the parser ignores",
    ("millionscale.cdn.purge", "_Refused"): "private: a 4xx from an edge, reported not raised",
    ("millionscale.db.router", "NodeOutOfRotation"): "a psycopg.OperationalError for the pool",
    ("millionscale.lb.connection", "_Refused"): "private: a request head refused, answered 4xx",
    (
        "millionscale.photos.app",
        "BodyLimit.__call__.<locals>.TooLarge",
    ): "private: a body over the limit",
    ("millionscale.photos.media", "InvalidImage"): "a ValueError the app answers with 422",
    ("millionscale.photos.repository", "UsernameTaken"): "the app answers it with 409",
    ("millionscale.tomlfile", "FieldError"): "a ValueError pydantic wraps; mapped to ConfigError",
}

# How a base class is written when it names an exception (for classes inside functions,
# which cannot be imported to ask issubclass).
EXCEPTION_SUFFIXES = ("Exception", "Error", "Refused", "Unavailable", "Transition", "Bug")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def classes(tree: ast.Module) -> list[tuple[str, ast.ClassDef, bool]]:
    """Every class of a module: (qualified name, node, whether it is importable by name)."""
    found: list[tuple[str, ast.ClassDef, bool]] = []

    def walk(node: ast.AST, prefix: str, importable: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = prefix + child.name
                found.append((name, child, importable))
                walk(child, name + ".", importable)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(child, f"{prefix}{child.name}.<locals>.", False)
            else:
                walk(child, prefix, importable)

    walk(tree, "", True)
    return found


def exception_classes() -> dict[tuple[str, str], type | None]:
    """(module, qualified name) -> the class (None: defined in a function) of every
    exception class under src/millionscale."""
    found: dict[tuple[str, str], type | None] = {}
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        for name, node, importable in classes(ast.parse(path.read_text(), str(path))):
            if importable:
                value: object = importlib.import_module(module)
                for part in name.split("."):
                    value = getattr(value, part)
                if inspect.isclass(value) and issubclass(value, BaseException):
                    found[module, name] = value
            elif any(ast.unparse(b).endswith(EXCEPTION_SUFFIXES) for b in node.bases):
                found[module, name] = None
    return found


FOUND = exception_classes()


def test_the_scan_sees_the_tree_itself():
    assert FOUND["millionscale.errors", "MillionscaleError"] is MillionscaleError
    assert FOUND["millionscale.errors", "IllegalTransition"] is errors.IllegalTransition


@pytest.mark.parametrize(("module", "name"), sorted(set(FOUND) - set(DELIBERATE)))
def test_every_exception_class_derives_from_the_tree(module, name):
    cls = FOUND[module, name]

    assert cls is not None, f"{module}.{name} is defined in a function: list it in DELIBERATE"
    assert issubclass(cls, MillionscaleError | MillionscaleBug), (
        f"{module}.{name} derives from neither MillionscaleError nor MillionscaleBug: "
        "move it into errors.py's tree, or list it in DELIBERATE with the reason"
    )


def test_every_deliberate_exception_still_exists():
    assert sorted(set(DELIBERATE) - set(FOUND)) == []


def test_errors_exports_exactly_what_it_defines():
    defined = {
        name
        for name, value in vars(errors).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == errors.__name__
    }

    assert sorted(errors.__all__) == sorted(defined)


def test_every_class_of_the_tree_is_drawn_in_its_docstring():
    drawn = errors.__doc__ or ""
    tree = [name for name in errors.__all__ if inspect.isclass(getattr(errors, name))]

    assert [name for name in tree if name not in drawn] == []


def test_bugs_and_user_errors_are_two_trees():
    bugs = [
        c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, MillionscaleBug)
    ]

    assert bugs
    assert not any(issubclass(c, MillionscaleError) for c in bugs)
    assert issubclass(MillionscaleBug, AssertionError)


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in errors.__all__
        if inspect.isclass(getattr(errors, n)) and issubclass(getattr(errors, n), BaseException)
    ],
)
def test_every_error_of_the_tree_says_what_it_means(name):
    assert (getattr(errors, name).__doc__ or "").strip()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("millionscale.lb", "IllegalTransition"),
        ("millionscale.lb.health", "IllegalTransition"),
        ("millionscale.topology.lifecycle", "IllegalTransition"),
        ("millionscale.web.shutdown", "IllegalTransition"),
        ("millionscale.db.failover", "SwitchoverRefused"),
        ("millionscale.topology.admin", "AdminError"),
    ],
)
def test_the_old_homes_still_export_the_moved_names(module, name):
    imported = importlib.import_module(module)

    assert name in imported.__all__
    assert getattr(imported, name) is getattr(errors, name)


def test_a_switchover_refused_is_a_user_error_with_a_hint():
    error = errors.SwitchoverRefused("r9 is not a node of this cluster")

    assert isinstance(error, MillionscaleError)
    assert str(error) == "r9 is not a node of this cluster"
    assert "millionscale db status" in error.hint
