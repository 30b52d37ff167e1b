"""``@cache.cached(...)``: an async function whose results a tiered cache keeps."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

from millionscale.cache.keys import check_key
from millionscale.errors import CacheError

if TYPE_CHECKING:
    from millionscale.cache.tiered import TieredCache

__all__ = ["CachedFunction"]

P = ParamSpec("P")
T = TypeVar("T")


class CachedFunction(Generic[P, T]):
    """An async function whose results a :class:`TieredCache` keeps (see :meth:`TieredCache.cached`)."""

    def __init__(
        self,
        cache: TieredCache,
        function: Callable[P, Awaitable[T]],
        ttl_s: float | None,
        absent_ttl_s: float | None,
        key: Callable[..., str] | None,
        prefix: str | None,
    ) -> None:
        functools.update_wrapper(self, function)
        self.cache = cache
        self.function = function
        self.ttl_s = ttl_s
        self.absent_ttl_s = absent_ttl_s
        self._key = key
        self.prefix = prefix or f"{function.__module__}.{function.__qualname__}"

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        if self._key is not None:
            return check_key(self._key(*args, **kwargs))
        try:
            text = json.dumps(
                [list(args), dict(sorted(kwargs.items()))],
                ensure_ascii=False,
                separators=(",", ":"),
                allow_nan=False,
            )
        except (TypeError, ValueError) as error:
            raise CacheError(
                f"the arguments of {self.prefix} make no cache key: {error}",
                hint="pass key=lambda ...: '...' to cached()",
            ) from None
        return check_key(f"{self.prefix}:{text}")

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T | None:
        result: T | None = await self.cache.get_or_load(
            self.key(*args, **kwargs),
            lambda: self.function(*args, **kwargs),
            self.ttl_s,
            absent_ttl_s=self.absent_ttl_s,
        )
        return result

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        return await self.cache.invalidate(self.key(*args, **kwargs))
