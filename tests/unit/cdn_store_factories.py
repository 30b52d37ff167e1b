"""Factories for the CDN store's unit tests: what a test relies on is at its call site."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from millionscale.cdn.message import Fields, Stored
from millionscale.cdn.store import Store

OVERHEAD = 64  # Stored.size of a response with no body and no fields


def stored(
    key: bytes = b"example.com/a",
    *,
    size: int | None = None,
    body: bytes = b"body",
    selecting: Fields = (),
    tags: tuple[bytes, ...] = (),
    response_time: float = 100.0,
    **fields: Any,
) -> Stored:
    """A stored 200 response; ``size`` gives it a body making ``Stored.size == size``."""
    if size is not None:
        body = b"b" * (size - OVERHEAD)
    made = Stored(
        key=key,
        status=200,
        fields=(),
        body=body,
        request_time=response_time - 0.5,
        response_time=response_time,
        corrected_initial_age=0.0,
        freshness_lifetime=60.0,
        vary=tuple(name for name, _ in selecting),
        selecting=selecting,
        tags=frozenset(tags),
        **fields,
    )
    assert size is None or made.size == size
    return made


def memory_store(max_memory_bytes: int = 10_000, **knobs: Any) -> Store:
    """A store with no disk, an LRU (deterministic) unless ``policy`` says otherwise,
    taking objects as large as its memory unless ``max_object_bytes`` says otherwise."""
    knobs.setdefault("policy", "lru")
    knobs.setdefault("max_object_bytes", max_memory_bytes)
    knobs.setdefault("random", random.Random(0).random)
    return Store(max_memory_bytes=max_memory_bytes, **knobs)


def disk_store(
    spill_dir: Path, max_memory_bytes: int = 1_000, max_disk_bytes: int = 10_000, **knobs: Any
) -> Store:
    """A store spilling to ``spill_dir``, an LRU in memory unless ``policy`` says otherwise,
    taking objects as large as its memory unless ``max_object_bytes`` says otherwise."""
    knobs.setdefault("policy", "lru")
    knobs.setdefault("max_object_bytes", max_memory_bytes)
    knobs.setdefault("random", random.Random(0).random)
    return Store(
        max_memory_bytes=max_memory_bytes,
        max_disk_bytes=max_disk_bytes,
        spill_dir=spill_dir,
        **knobs,
    )


def spill_files(spill_dir: Path) -> list[Path]:
    """The spill files under ``spill_dir``, in the order they were written."""
    return sorted(spill_dir.rglob("*.spill"))


def variant(name: bytes, value: bytes) -> Fields:
    """The selecting fields of a response that varies on ``name``."""
    return ((name, value),)
