"""The edge's storage: stored responses in memory within a byte budget, spilling to disk.

An entry is one variant of one key: a :class:`~millionscale.cdn.message.Stored`
under ``(key, selecting)``, ``selecting`` being the original request's values
of the fields the response varies on (RFC 9111 §4.1). A key may hold several
variants; :meth:`Store.variants` returns them all and leaves the choice to
:func:`~millionscale.cdn.lookup.lookup`. A new response replaces the variant
with equal ``selecting`` (§3: it is stored "in place of" the older one).

Tiers and bounds:

- **Memory** holds at most ``max_memory_bytes``, counted as
  :attr:`Stored.size <millionscale.cdn.message.Stored.size>` (body and fields).
  Which entries stay is decided by the cache tier's eviction policy,
  :func:`millionscale.cache.policy.make_policy` (``w-tinylfu`` by default:
  Caffeine's admission keeps popular objects against a scan of one-hit
  wonders), bounded by bytes only (every entry is charged at least the
  64 bytes of ``Stored.size``'s overhead, so the entry bound is set where it
  never binds).
- **Disk** (when ``max_disk_bytes > 0``): the victims of memory are written
  under ``spill_dir``, one file per entry, and held within ``max_disk_bytes``
  (the files' sizes) by an LRU (``make_policy("lru", ...)``); the disk's
  victims are deleted. A read that finds an entry on disk promotes it back to
  memory, which may spill others; if the memory policy declines it (W-TinyLFU
  admission), it stays on disk and its file is kept.
- An object whose ``size`` is over ``max_object_bytes`` (default: a quarter
  of the memory budget) is not stored, and the variant it would have
  replaced is dropped: a reader never gets a response older than the last
  one offered for it.

After every call ``memory_bytes <= max_memory_bytes`` and
``disk_bytes <= max_disk_bytes``. Not counted: the keys, indexes and the
in-memory records of spilled entries (a few hundred bytes each).

Spill files. Each is written to a temporary name and moved into place with
``os.replace``, so a file under its final name is always whole. It holds a
magic, the lengths, a CRC-32 of the rest, a JSON header with the record's
fields, and the body. A file that is missing, truncated, of another size
than written, failing its CRC or naming another entry reads as a miss and is
removed: a bad disk costs hits, never an exception. A file that cannot be
written (disk full) drops its entry (counted as evicted). Files are not
fsynced: they are a cache, worthless after a crash, and :meth:`Store.close`
removes them. The store keeps them in a directory of its own made under
``spill_dir`` (so two stores may share one ``spill_dir``); a crash leaves that
directory behind.

Blocking. The store is synchronous and thread-free; the edge calls it from
its event loop, every call atomic with respect to other tasks. The only
blocking it does is file I/O: a :meth:`Store.variants` that finds entries on
disk reads each one's file (at most the size recorded when it was written,
about ``max_object_bytes`` plus a header of a few hundred bytes), and a call
that makes memory evict writes the victims' files (about the bytes it adds:
at most ``max_object_bytes`` and one more object). Small files on a local
disk take tens of microseconds from the page cache, milliseconds from a cold
disk.

Purge indexes (for :meth:`Store.purge_tag` and :meth:`Store.purge_prefix`):

- surrogate keys: tag → entries (``Stored.tags``), kept exactly;
- key prefixes: a sorted list of the keys, kept sorted lazily. New keys are
  appended to a pending list (O(1) per new key, where ``bisect.insort`` costs
  60 µs at 100k keys, measured on the 2-core build machine); a prefix purge
  first merges the pending keys (a sort that finds two runs: O(n), about a
  millisecond at 100k keys) then bisects to the first match, O(log n + m).
  Keys that left are skipped where found and the list is rebuilt from the
  live keys once it holds twice as many as live plus 1024 (``sorted``,
  O(n log n) every n new keys: O(log n) amortised). A scan of the key dict
  instead would cost O(n) per purge: 10 to 100 ms at 100k keys on that
  machine, on the event loop.

Soft purge replaces each entry by ``dataclasses.replace(stored,
invalidated=True)`` (kept for stale serving, never fresh again); on disk the
mark is kept in the entry's in-memory record and applied when the file is
read, so a soft purge does no I/O. A hard purge removes entries everywhere.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import json
import os
import random as _random
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Collection, Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from millionscale.cache.policy import DEFAULT_POLICY, EvictionPolicy, make_policy
from millionscale.cdn.message import Fields, Stored
from millionscale.errors import ConfigError

__all__ = ["OBJECT_SHARE", "Store", "StoreStatistics"]

# Default max_object_bytes: a quarter of memory, so that one object never flushes more
# than a quarter of the cache (neither nginx nor Varnish bounds an object by default).
OBJECT_SHARE = 4
MIN_ENTRY_BYTES = 64  # Stored.size's fixed overhead: no entry is charged less

# Spill file layout: MAGIC, then _LENGTHS (header length, body length, CRC-32 of header + body), header (JSON), body.
MAGIC = b"MSCDNv1\n"
_LENGTHS = struct.Struct(">IQI")
_PREAMBLE = len(MAGIC) + _LENGTHS.size
# The sorted key list is rebuilt once it holds more than twice the live keys plus this.
KEY_INDEX_SLACK = 1024

EntryId = tuple[bytes, Fields]
"""An entry's identity: its key and its variant's ``selecting`` fields."""


@dataclass(frozen=True, slots=True)
class StoreStatistics:
    """A snapshot of a store's contents and counters.

    ``objects == memory_objects + disk_objects``; ``memory_bytes`` and
    ``disk_bytes`` are the contents when taken, every other counter only
    grows. An entry leaving memory is counted once: ``spilled`` (written to
    disk) or ``evicted`` (dropped for room, or because its file could not be
    written); an entry leaving disk is ``promoted`` (back to memory) or
    ``evicted`` (dropped for room, or its file was found missing or corrupt).
    ``purged_soft`` and ``purged_hard`` count the entries purges matched
    (:meth:`Store.remove` is not a purge and is not counted);
    ``refused_too_large`` the puts over ``max_object_bytes``.
    """

    objects: int
    memory_objects: int
    disk_objects: int
    memory_bytes: int
    disk_bytes: int
    spilled: int
    promoted: int
    evicted: int
    purged_soft: int
    purged_hard: int
    refused_too_large: int


@dataclass(frozen=True, slots=True)
class _Spilled:
    """What the store keeps in memory of an entry on disk: enough to purge, replace
    and read it without opening the file."""

    path: Path
    file_bytes: int
    tags: frozenset[bytes]
    request_time: float
    response_time: float
    invalidated: bool


class _SortedKeys:
    """The keys held, in order, for prefix purges (see the module's docstring).

    Holds every live key at least once, and keys that left (skipped, and
    forgotten at the next rebuild); liveness is the store's key dict.
    """

    __slots__ = ("_pending", "_sorted")

    def __init__(self) -> None:
        self._sorted: list[bytes] = []
        self._pending: list[bytes] = []

    def add(self, key: bytes, live: Collection[bytes]) -> None:
        """``key`` became live (``live``: every live key, ``key`` included)."""
        self._pending.append(key)
        if len(self._sorted) + len(self._pending) > 2 * len(live) + KEY_INDEX_SLACK:
            self._sorted = sorted(live)
            self._pending = []

    def clear(self) -> None:
        self._sorted = []
        self._pending = []

    def starting_with(self, prefix: bytes, live: Container[bytes]) -> list[bytes]:
        """The live keys that start with ``prefix``, each once, in order."""
        if self._pending:
            self._pending.sort()
            self._sorted += self._pending  # two sorted runs: timsort merges them in O(n)
            self._sorted.sort()
            self._pending = []
        keys = self._sorted
        found: list[bytes] = []
        previous: bytes | None = None
        for index in range(bisect.bisect_left(keys, prefix), len(keys)):
            key = keys[index]
            if not key.startswith(prefix):
                break
            if key != previous and key in live:
                found.append(key)
            previous = key
        return found


class Store:
    """Stored responses, by key and variant, in memory and spilled to disk.

    Knobs: ``max_memory_bytes`` (required), ``max_disk_bytes`` (0: no disk)
    and ``spill_dir`` (required with a disk budget; made if missing, and then
    removed by :meth:`close`), ``policy`` (memory's eviction policy, one of
    :data:`millionscale.cache.policy.POLICIES`), ``max_object_bytes``
    (default ``max_memory_bytes // 4``), ``random`` (W-TinyLFU's admission
    draws, injected for tests). Usable as a context manager that closes it.
    """

    def __init__(
        self,
        *,
        max_memory_bytes: int,
        max_disk_bytes: int = 0,
        spill_dir: Path | None = None,
        policy: str = DEFAULT_POLICY,
        max_object_bytes: int | None = None,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if max_memory_bytes < MIN_ENTRY_BYTES:
            raise ConfigError(
                f"a CDN store's memory budget of {max_memory_bytes} bytes holds no object",
                hint=f"give it at least {MIN_ENTRY_BYTES} bytes (e.g. --memory 256MiB)",
            )
        if max_object_bytes is None:
            max_object_bytes = max(MIN_ENTRY_BYTES, max_memory_bytes // OBJECT_SHARE)
        if not 1 <= max_object_bytes <= max_memory_bytes:
            raise ConfigError(
                f"max_object_bytes {max_object_bytes} is not between 1 and the memory budget {max_memory_bytes}",
                hint="an object is stored in memory first; lower max_object_bytes or raise the memory",
            )
        if max_disk_bytes < 0:
            raise ConfigError(
                f"a negative disk budget ({max_disk_bytes} bytes)", hint="use 0 for no disk"
            )
        if max_disk_bytes > 0 and spill_dir is None:
            raise ConfigError(
                "a disk budget without a spill directory", hint="give --spill-dir with --disk"
            )
        self._max_memory_bytes = max_memory_bytes
        self._max_disk_bytes = max_disk_bytes
        self._max_object_bytes = max_object_bytes
        self._memory_policy: EvictionPolicy[EntryId] = make_policy(
            policy, max_memory_bytes // MIN_ENTRY_BYTES, max_memory_bytes, random=random
        )
        self._disk_policy: EvictionPolicy[EntryId] | None = None
        self._spill_root: Path | None = None  # spill_dir, if this store made it
        self._spill_dir: Path | None = None  # this store's own directory under spill_dir
        if max_disk_bytes > 0 and spill_dir is not None:
            self._disk_policy = make_policy("lru", max_disk_bytes, max_disk_bytes)
            if not spill_dir.exists():
                spill_dir.mkdir(parents=True)
                self._spill_root = spill_dir
            self._spill_dir = Path(tempfile.mkdtemp(prefix="cdn-store-", dir=spill_dir))
        self._memory: dict[EntryId, Stored] = {}
        self._disk: dict[EntryId, _Spilled] = {}
        # key -> its variants' selecting fields, least recently stored first
        self._keys: dict[bytes, dict[Fields, None]] = {}
        self._tags: dict[bytes, set[EntryId]] = {}
        self._sorted_keys = _SortedKeys()
        self._files = 0  # spill files named so far
        self._spilled = 0
        self._promoted = 0
        self._evicted = 0
        self._purged_soft = 0
        self._purged_hard = 0
        self._refused_too_large = 0

    # -- reading -------------------------------------------------------------------------

    @property
    def max_memory_bytes(self) -> int:
        return self._max_memory_bytes

    @property
    def max_disk_bytes(self) -> int:
        return self._max_disk_bytes

    @property
    def max_object_bytes(self) -> int:
        return self._max_object_bytes

    def __len__(self) -> int:
        """Entries held, in memory and on disk."""
        return len(self._memory) + len(self._disk)

    def __contains__(self, key: object) -> bool:
        """Whether some variant of ``key`` is held; no touch, no I/O."""
        return key in self._keys

    def variants(self, key: bytes) -> list[Stored]:
        """Every variant of ``key``, bodies loaded, the most recent response first
        (by ``response_time``; ties: the last stored first).

        Counts as a read of each (the eviction policy's touch); a variant on
        disk is read from its file and promoted to memory (see the module's
        docstring on blocking). A variant whose file is bad is dropped and
        not returned.
        """
        selections = self._keys.get(key)
        if not selections:
            return []
        found: list[Stored] = []
        for selecting in reversed(list(selections)):
            entry = (key, selecting)
            stored = self._memory.get(entry)
            if stored is not None:
                self._memory_policy.touch(entry)
                found.append(stored)
                continue
            if entry not in self._disk:
                continue  # dropped from disk by the promotion of a variant before it
            loaded = self._promote(entry)
            if loaded is not None:
                found.append(loaded)
        found.sort(key=_newest_first)  # stable: equal times keep the last stored first
        return found

    def statistics(self) -> StoreStatistics:
        memory_bytes = self._memory_policy.bytes
        disk_bytes = 0 if self._disk_policy is None else self._disk_policy.bytes
        return StoreStatistics(
            objects=len(self._memory) + len(self._disk),
            memory_objects=len(self._memory),
            disk_objects=len(self._disk),
            memory_bytes=memory_bytes,
            disk_bytes=disk_bytes,
            spilled=self._spilled,
            promoted=self._promoted,
            evicted=self._evicted,
            purged_soft=self._purged_soft,
            purged_hard=self._purged_hard,
            refused_too_large=self._refused_too_large,
        )

    # -- writing -------------------------------------------------------------------------

    def put(self, stored: Stored) -> bool:
        """Store ``stored``, replacing the variant of its key with equal ``selecting``;
        whether it is held afterwards (in memory, or on disk if the memory
        policy declined it at once).

        ``False``: over ``max_object_bytes`` (the variant it would have
        replaced is dropped), or declined by the memory policy with no disk
        to spill to.
        """
        entry = (stored.key, stored.selecting)
        size = stored.size
        if size > self._max_object_bytes:
            self._refused_too_large += 1
            self._discard(entry)
            return False
        memory = self._memory
        old = memory.get(entry)
        if old is not None:
            memory[entry] = stored
            self._reindex(entry, old.tags, stored.tags)
            victims = self._memory_policy.resize(entry, size)
        else:
            if entry in self._disk:
                self._discard(entry)
            self._index(entry, stored.tags)
            memory[entry] = stored
            victims = self._memory_policy.add(entry, size)
        if victims:
            self._spill(victims)
        return entry in memory or entry in self._disk

    def replace(self, old: Stored, new: Stored) -> None:
        """After a revalidation (RFC 9111 §4.3.4): ``new`` takes the place of ``old``.

        Only if ``old`` is still what is held for its variant (same request
        and response times): if it was purged or evicted while the request
        was in flight, or a newer response was stored meanwhile, ``new`` is
        not stored, so a revalidation that started before a purge never
        undoes it. If a soft purge marked the held entry while ``old`` was
        not, ``new`` keeps the mark.
        """
        entry = (old.key, old.selecting)
        held = self._memory.get(entry)
        spilled = self._disk.get(entry) if held is None else None
        if held is not None:
            times, invalidated = (held.request_time, held.response_time), held.invalidated
        elif spilled is not None:
            times, invalidated = (spilled.request_time, spilled.response_time), spilled.invalidated
        else:
            return
        if times != (old.request_time, old.response_time):
            return
        if invalidated and not old.invalidated and not new.invalidated:
            new = dataclasses.replace(new, invalidated=True)
        if (new.key, new.selecting) != entry:
            self._discard(entry)
        self.put(new)

    def remove(self, key: bytes) -> int:
        """Drop every variant of ``key`` (RFC 9111 §4.4 invalidation); how many."""
        selections = self._keys.get(key)
        if not selections:
            return 0
        entries = [(key, selecting) for selecting in selections]
        for entry in entries:
            self._discard(entry)
        return len(entries)

    def purge_url(self, key: bytes, *, soft: bool) -> int:
        """Purge every variant of ``key``; how many."""
        selections = self._keys.get(key)
        if not selections:
            return 0
        return self._purge([(key, selecting) for selecting in selections], soft)

    def purge_prefix(self, prefix: bytes, *, soft: bool) -> int:
        """Purge every variant of the keys starting with ``prefix`` (host and path
        prefix: keys are :func:`~millionscale.cdn.message.cache_key`); how many."""
        keys = self._sorted_keys.starting_with(prefix, self._keys)
        return self._purge(
            [(key, selecting) for key in keys for selecting in self._keys[key]], soft
        )

    def purge_tag(self, tag: bytes, *, soft: bool) -> int:
        """Purge every entry whose surrogate keys include ``tag``; how many."""
        entries = self._tags.get(tag)
        if not entries:
            return 0
        return self._purge(list(entries), soft)

    def purge_all(self, *, soft: bool) -> int:
        """Purge every entry; how many."""
        if soft:
            return self._purge([*self._memory, *self._disk], soft=True)
        count = len(self._memory) + len(self._disk)
        self._clear()
        self._purged_hard += count
        return count

    def close(self) -> None:
        """Remove every entry and every spill file, and the directories the store made.

        Idempotent; the store stays usable afterwards, in memory only.
        """
        self._clear()
        self._disk_policy = None
        self._max_disk_bytes = 0
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None
        if self._spill_root is not None:
            with contextlib.suppress(OSError):
                self._spill_root.rmdir()  # only if empty: someone else's files stay
            self._spill_root = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def audit(self) -> list[str]:
        """The invariants that do not hold, in words (empty when the store is sound).

        For tests and debugging: it walks every entry and stats every spill
        file, O(n) with I/O; never on a request path.
        """
        broken: list[str] = []
        memory, disk = self._memory, self._disk
        both = memory.keys() & disk.keys()
        if both:
            broken.append(f"{len(both)} entries both in memory and on disk")
        indexed = {(key, sel) for key, sels in self._keys.items() for sel in sels}
        if any(not sels for sels in self._keys.values()):
            broken.append("a key without variants is indexed")
        if indexed != memory.keys() | disk.keys():
            broken.append("the key index does not list exactly the entries held")
        tags: dict[bytes, set[EntryId]] = {}
        for entry, stored in memory.items():
            for tag in stored.tags:
                tags.setdefault(tag, set()).add(entry)
        for entry, spilled in disk.items():
            for tag in spilled.tags:
                tags.setdefault(tag, set()).add(entry)
        if tags != self._tags:
            broken.append("the tag index does not match the entries' tags")
        if self._sorted_keys.starting_with(b"", self._keys) != sorted(self._keys):
            broken.append("the prefix index does not list exactly the keys held")
        policy = self._memory_policy
        if len(policy) != len(memory) or any(entry not in policy for entry in memory):
            broken.append("the memory policy does not hold exactly the memory entries")
        if policy.bytes != sum(stored.size for stored in memory.values()):
            broken.append("memory bytes are not the sum of the entries' sizes")
        if policy.bytes > self._max_memory_bytes:
            broken.append(f"memory holds {policy.bytes} bytes, over {self._max_memory_bytes}")
        disk_policy = self._disk_policy
        if disk_policy is None:
            if disk:
                broken.append("entries on disk without a disk budget")
        else:
            if len(disk_policy) != len(disk) or any(entry not in disk_policy for entry in disk):
                broken.append("the disk policy does not hold exactly the disk entries")
            if disk_policy.bytes != sum(spilled.file_bytes for spilled in disk.values()):
                broken.append("disk bytes are not the sum of the files' sizes")
            if disk_policy.bytes > self._max_disk_bytes:
                broken.append(f"disk holds {disk_policy.bytes} bytes, over {self._max_disk_bytes}")
            for spilled in disk.values():
                try:
                    size = spilled.path.stat().st_size
                except OSError:
                    broken.append(f"spill file {spilled.path.name} is missing")
                    continue
                if size != spilled.file_bytes:
                    broken.append(f"spill file {spilled.path.name} is not as written")
            if self._spill_dir is not None:
                files = {path.name for path in self._spill_dir.iterdir()}
                if files != {spilled.path.name for spilled in disk.values()}:
                    broken.append("the spill directory holds files of no entry")
        return broken

    # -- inside --------------------------------------------------------------------------

    def _index(self, entry: EntryId, tags: frozenset[bytes]) -> None:
        key, selecting = entry
        selections = self._keys.get(key)
        if selections is None:
            self._keys[key] = {selecting: None}
            self._sorted_keys.add(key, self._keys)
        else:
            selections[selecting] = None
        for tag in tags:
            self._tags.setdefault(tag, set()).add(entry)

    def _unindex(self, entry: EntryId, tags: frozenset[bytes]) -> None:
        key, selecting = entry
        selections = self._keys[key]
        del selections[selecting]
        if not selections:
            del self._keys[key]  # the sorted key list skips it until its next rebuild
        for tag in tags:
            tagged = self._tags[tag]
            tagged.discard(entry)
            if not tagged:
                del self._tags[tag]

    def _reindex(self, entry: EntryId, old: frozenset[bytes], new: frozenset[bytes]) -> None:
        """A variant stored again: most recent of its key, its tags updated."""
        selections = self._keys[entry[0]]
        del selections[entry[1]]
        selections[entry[1]] = None
        if old != new:
            for tag in old - new:
                tagged = self._tags[tag]
                tagged.discard(entry)
                if not tagged:
                    del self._tags[tag]
            for tag in new - old:
                self._tags.setdefault(tag, set()).add(entry)

    def _discard(self, entry: EntryId) -> None:
        """Remove ``entry`` wherever it is (nothing if not held)."""
        stored = self._memory.pop(entry, None)
        if stored is not None:
            self._memory_policy.remove(entry)
            self._unindex(entry, stored.tags)
            return
        spilled = self._disk.pop(entry, None)
        if spilled is not None:
            assert self._disk_policy is not None
            self._disk_policy.remove(entry)
            _unlink(spilled.path)
            self._unindex(entry, spilled.tags)

    def _purge(self, entries: list[EntryId], soft: bool) -> int:
        if soft:
            memory, disk = self._memory, self._disk
            for entry in entries:
                stored = memory.get(entry)
                if stored is not None:
                    if not stored.invalidated:
                        memory[entry] = dataclasses.replace(stored, invalidated=True)
                else:
                    spilled = disk[entry]
                    if not spilled.invalidated:
                        disk[entry] = dataclasses.replace(spilled, invalidated=True)
            self._purged_soft += len(entries)
        else:
            for entry in entries:
                self._discard(entry)
            self._purged_hard += len(entries)
        return len(entries)

    def _clear(self) -> None:
        for spilled in self._disk.values():
            _unlink(spilled.path)
        self._memory.clear()
        self._disk.clear()
        self._keys.clear()
        self._tags.clear()
        self._sorted_keys.clear()
        self._memory_policy.clear()
        if self._disk_policy is not None:
            self._disk_policy.clear()

    def _spill(self, victims: Sequence[EntryId]) -> None:
        """Memory's ``victims`` leave it: to disk if there is a budget, else dropped."""
        memory = self._memory
        disk_policy = self._disk_policy
        for victim in victims:
            stored = memory.pop(victim)
            spilled = self._write(stored) if disk_policy is not None else None
            if spilled is None:
                self._unindex(victim, stored.tags)
                self._evicted += 1
                continue
            assert disk_policy is not None
            if spilled.file_bytes > self._max_disk_bytes:
                _unlink(spilled.path)
                self._unindex(victim, stored.tags)
                self._evicted += 1
                continue
            self._disk[victim] = spilled
            self._spilled += 1
            for gone in disk_policy.add(victim, spilled.file_bytes):
                dropped = self._disk.pop(gone)
                _unlink(dropped.path)
                self._unindex(gone, dropped.tags)
                self._evicted += 1

    def _promote(self, entry: EntryId) -> Stored | None:
        """Read a spilled entry and move it to memory (unless the memory policy
        declines it: then it stays on disk); ``None`` if its file is bad (then
        it is dropped)."""
        spilled = self._disk[entry]
        stored = _read(spilled, entry)
        disk_policy = self._disk_policy
        assert disk_policy is not None
        if stored is None:
            del self._disk[entry]
            disk_policy.remove(entry)
            _unlink(spilled.path)
            self._unindex(entry, spilled.tags)
            self._evicted += 1
            return None
        if stored.invalidated != spilled.invalidated:
            stored = dataclasses.replace(stored, invalidated=spilled.invalidated)
        self._memory[entry] = stored
        victims = self._memory_policy.add(entry, stored.size)
        if entry in victims:
            # Declined: it stays on disk (touched first, so the others' spills push it out last).
            del self._memory[entry]
            disk_policy.touch(entry)
            self._spill([victim for victim in victims if victim != entry])
            return stored
        del self._disk[entry]
        disk_policy.remove(entry)
        _unlink(spilled.path)
        self._promoted += 1
        if victims:
            self._spill(victims)
        return stored

    def _write(self, stored: Stored) -> _Spilled | None:
        """Write ``stored``'s spill file, atomically; ``None`` if it cannot be written."""
        assert self._spill_dir is not None
        self._files += 1
        path = self._spill_dir / f"{self._files:016x}.spill"
        temporary = path.with_suffix(".tmp")
        data = encode(stored)
        try:
            with open(temporary, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except OSError:
            _unlink(temporary)
            return None
        return _Spilled(
            path=path,
            file_bytes=len(data),
            tags=stored.tags,
            request_time=stored.request_time,
            response_time=stored.response_time,
            invalidated=stored.invalidated,
        )


def _newest_first(stored: Stored) -> float:
    return -stored.response_time


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _read(spilled: _Spilled, entry: EntryId) -> Stored | None:
    """The entry a spill file holds, or ``None`` if the file is missing or corrupt."""
    try:
        with open(spilled.path, "rb") as file:
            data = file.read(spilled.file_bytes + 1)  # never more than was written
    except OSError:
        return None
    if len(data) != spilled.file_bytes:
        return None
    stored = decode(data)
    if stored is None or (stored.key, stored.selecting) != entry:
        return None
    return stored


# -- the spill file's format -------------------------------------------------------------
# Bytes in the header are latin-1 decoded into JSON strings (every byte one code
# point, so any bytes survive), floats as JSON numbers (Python writes the
# shortest repr, which reads back exactly; inf as Infinity).


def encode(stored: Stored) -> bytes:
    """A spill file's contents for ``stored``."""
    header = json.dumps(
        {
            "key": stored.key.decode("latin-1"),
            "status": stored.status,
            "fields": _pairs_out(stored.fields),
            "request_time": stored.request_time,
            "response_time": stored.response_time,
            "corrected_initial_age": stored.corrected_initial_age,
            "freshness_lifetime": stored.freshness_lifetime,
            "stale_while_revalidate": stored.stale_while_revalidate,
            "stale_if_error": stored.stale_if_error,
            "must_revalidate": stored.must_revalidate,
            "no_cache": stored.no_cache,
            "vary": [name.decode("latin-1") for name in stored.vary],
            "selecting": _pairs_out(stored.selecting),
            "tags": sorted(tag.decode("latin-1") for tag in stored.tags),
            "invalidated": stored.invalidated,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    body = stored.body
    checksum = zlib.crc32(body, zlib.crc32(header))
    return b"".join((MAGIC, _LENGTHS.pack(len(header), len(body), checksum), header, body))


def decode(data: bytes) -> Stored | None:
    """The record a spill file's contents hold, or ``None`` if they are not one."""
    if len(data) < _PREAMBLE or not data.startswith(MAGIC):
        return None
    header_length, body_length, checksum = _LENGTHS.unpack_from(data, len(MAGIC))
    if _PREAMBLE + header_length + body_length != len(data):
        return None
    header = data[_PREAMBLE : _PREAMBLE + header_length]
    body = data[_PREAMBLE + header_length :]
    if zlib.crc32(body, zlib.crc32(header)) != checksum:
        return None
    try:
        record = json.loads(header)
        return Stored(
            key=_bytes_in(record["key"]),
            status=_int_in(record["status"]),
            fields=_pairs_in(record["fields"]),
            body=body,
            request_time=_float_in(record["request_time"]),
            response_time=_float_in(record["response_time"]),
            corrected_initial_age=_float_in(record["corrected_initial_age"]),
            freshness_lifetime=_float_in(record["freshness_lifetime"]),
            stale_while_revalidate=_float_in(record["stale_while_revalidate"]),
            stale_if_error=_float_in(record["stale_if_error"]),
            must_revalidate=_bool_in(record["must_revalidate"]),
            no_cache=_bool_in(record["no_cache"]),
            vary=tuple(_bytes_in(name) for name in _list_in(record["vary"])),
            selecting=_pairs_in(record["selecting"]),
            tags=frozenset(_bytes_in(tag) for tag in _list_in(record["tags"])),
            invalidated=_bool_in(record["invalidated"]),
        )
    except (ValueError, TypeError, KeyError):
        return None


def _pairs_out(fields: Fields) -> list[list[str]]:
    return [[name.decode("latin-1"), value.decode("latin-1")] for name, value in fields]


def _pairs_in(value: Any) -> Fields:
    pairs = []
    for pair in _list_in(value):
        name, field = _list_in(pair)
        pairs.append((_bytes_in(name), _bytes_in(field)))
    return tuple(pairs)


def _bytes_in(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value.encode("latin-1")


def _list_in(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _int_in(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


def _float_in(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)


def _bool_in(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value
