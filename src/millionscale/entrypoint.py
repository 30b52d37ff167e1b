"""``MODULE:FACTORY[=ARG]``: how a flag names code the user supplies.

The same ``module:attribute`` form as uvicorn's application or a console
script's entry point (``--fence`` for the failover monitor's fencer,
``--tasks`` for a worker's handlers): the process that loads it imports
nothing of the caller's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from millionscale.errors import ConfigError

__all__ = ["load_factory"]


def load_factory(spec: str, *, flag: str, example: str) -> tuple[Callable[..., Any], str | None]:
    """The factory ``spec`` names and its argument (None without ``=``).

    Raises :class:`ConfigError` naming ``flag`` for a spec that is not
    ``MODULE:FACTORY[=ARG]``, a module that does not import, or an attribute
    that is not callable; the hint shows ``example``.
    """
    target, equals, arg = spec.partition("=")
    module_name, colon, attribute = target.partition(":")
    hint = f"say MODULE:FACTORY[=ARG], e.g. {example}"
    if not colon or not module_name or not attribute.isidentifier():
        raise ConfigError(f"{flag} {spec!r} is not MODULE:FACTORY[=ARG]", hint=hint)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"{flag} {spec!r}: cannot import {module_name}: {error}", hint=hint
        ) from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"{flag} {spec!r}: {module_name} has no factory {attribute}", hint=hint)
    return factory, (arg if equals else None)
