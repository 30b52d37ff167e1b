"""A spill file that is missing, truncated, altered or another entry's reads as a miss, is removed, and never raises."""

import os

import pytest
from cdn_store_factories import disk_store, spill_files, stored


def spilled_store(tmp_path):
    """A store whose example.com/0 is on disk (and /1../3 in memory)."""
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    for number in range(4):
        store.put(stored(b"example.com/%d" % number, size=300, tags=(b"t",)))
    assert store.statistics().disk_objects == 1
    return store


def truncate(path):
    path.write_bytes(path.read_bytes()[:-1])


def extend(path):
    path.write_bytes(path.read_bytes() + b"x")


def flip_last_byte(path):  # in the body
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def flip_header_byte(path):
    data = bytearray(path.read_bytes())
    data[40] ^= 0x20
    path.write_bytes(bytes(data))


def empty(path):
    path.write_bytes(b"")


def garbage(path):
    path.write_bytes(os.urandom(path.stat().st_size))


def delete(path):
    path.unlink()


def make_a_directory(path):
    path.unlink()
    path.mkdir()


CORRUPTIONS = [truncate, extend, flip_last_byte, flip_header_byte, empty, garbage, delete]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_a_bad_spill_file_reads_as_a_miss(tmp_path, corrupt):
    store = spilled_store(tmp_path)
    [path] = spill_files(tmp_path)
    corrupt(path)

    found = store.variants(b"example.com/0")

    assert found == []
    assert not path.exists()
    stats = store.statistics()
    assert (stats.disk_objects, stats.disk_bytes, stats.evicted) == (0, 0, 1)
    assert b"example.com/0" not in store
    assert store.purge_tag(b"t", soft=False) == 3  # the index forgot it too
    assert store.audit() == []


def test_a_directory_in_place_of_a_spill_file_reads_as_a_miss(tmp_path):
    store = spilled_store(tmp_path)
    [path] = spill_files(tmp_path)
    make_a_directory(path)

    found = store.variants(b"example.com/0")

    assert found == []
    assert store.statistics().disk_objects == 0


def test_another_entrys_file_in_place_reads_as_a_miss(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    for number in range(5):
        store.put(stored(b"example.com/%d" % number, size=300))
    first, second = spill_files(tmp_path)  # /0 and /1, same size
    first.write_bytes(second.read_bytes())

    found = store.variants(b"example.com/0")

    assert found == []
    assert store.statistics().disk_objects == 1


def test_the_other_variants_of_the_key_are_still_served(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    store.put(stored(b"example.com/a", size=300, selecting=((b"accept", b"x"),)))
    for number in range(2):
        store.put(stored(b"example.com/%d" % number, size=300))
    store.put(stored(b"example.com/a", size=300, selecting=((b"accept", b"y"),)))
    [path] = spill_files(tmp_path)  # the x variant
    truncate(path)

    found = store.variants(b"example.com/a")

    assert [v.selecting for v in found] == [((b"accept", b"y"),)]
