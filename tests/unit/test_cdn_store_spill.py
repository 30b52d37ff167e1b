"""Memory's victims spill to disk within the disk budget; a disk hit promotes the entry back to memory."""

import random
import shutil

from cdn_store_factories import disk_store, memory_store, spill_files, stored

from millionscale.cdn.store import Store


def fill(store, count, size=300):
    """Store example.com/0 .. example.com/{count-1}, each of ``size`` bytes, in that order."""
    for number in range(count):
        store.put(stored(b"example.com/%d" % number, size=size, tags=(b"t%d" % number,)))


def test_memory_victims_are_written_to_disk(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)

    fill(store, 4)  # three fit in memory: the least recent spills

    stats = store.statistics()
    assert (stats.memory_objects, stats.disk_objects, stats.spilled) == (3, 1, 1)
    files = spill_files(tmp_path)
    assert len(files) == 1
    assert stats.disk_bytes == files[0].stat().st_size
    assert store.audit() == []


def test_a_disk_hit_returns_the_stored_record_and_promotes_it(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    first = stored(b"example.com/0", size=300, tags=(b"t0",))
    store.put(first)
    fill_after = [stored(b"example.com/%d" % n, size=300) for n in (1, 2, 3)]
    for response in fill_after:
        store.put(response)

    found = store.variants(b"example.com/0")

    assert found == [first]
    stats = store.statistics()
    assert stats.promoted == 1
    assert stats.spilled == 2  # /0 first, then /1 to make room for /0's return
    assert stats.memory_objects == 3
    assert stats.disk_objects == 1
    assert store.audit() == []


def test_a_promoted_entry_is_served_from_memory_afterwards(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    fill(store, 4)
    store.variants(b"example.com/0")
    for path in spill_files(tmp_path):
        path.unlink()  # the disk is gone: only memory can answer

    found = store.variants(b"example.com/0")

    assert len(found) == 1
    assert store.statistics().promoted == 1


def test_the_disk_keeps_its_budget_by_deleting_its_least_recent_files(tmp_path):
    probe = disk_store(tmp_path / "probe", max_memory_bytes=1_000)
    fill(probe, 4)
    file_bytes = probe.statistics().disk_bytes
    probe.close()
    store = disk_store(tmp_path / "spill", max_memory_bytes=1_000, max_disk_bytes=2 * file_bytes)

    fill(store, 8)  # five spill, two fit on disk

    stats = store.statistics()
    assert (stats.memory_objects, stats.disk_objects) == (3, 2)
    assert stats.evicted == 3
    assert stats.disk_bytes <= 2 * file_bytes
    assert len(spill_files(tmp_path / "spill")) == 2
    assert store.variants(b"example.com/0") == []  # deleted from disk
    assert len(store.variants(b"example.com/4")) == 1  # still on disk
    assert store.audit() == []


def test_without_a_disk_budget_victims_are_dropped(tmp_path):
    store = memory_store(max_memory_bytes=1_000)

    fill(store, 5)

    stats = store.statistics()
    assert (stats.objects, stats.spilled, stats.evicted) == (3, 0, 2)
    assert store.variants(b"example.com/0") == []
    assert list(tmp_path.iterdir()) == []


def test_a_file_larger_than_the_disk_budget_is_dropped(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000, max_disk_bytes=100)

    fill(store, 4)

    stats = store.statistics()
    assert (stats.disk_objects, stats.disk_bytes, stats.evicted) == (0, 0, 1)
    assert spill_files(tmp_path) == []


def test_a_soft_purge_of_a_spilled_entry_is_applied_when_it_is_read(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    fill(store, 4)
    [path] = spill_files(tmp_path)
    written = path.read_bytes()

    purged = store.purge_tag(b"t0", soft=True)

    assert purged == 1
    assert path.read_bytes() == written  # no I/O: the mark is in memory
    [found] = store.variants(b"example.com/0")
    assert found.invalidated


def test_a_hard_purge_of_a_spilled_entry_deletes_its_file(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    fill(store, 4)

    purged = store.purge_prefix(b"example.com/0", soft=False)

    assert purged == 1
    assert spill_files(tmp_path) == []
    assert store.statistics().disk_bytes == 0
    assert store.audit() == []


def test_a_new_response_for_a_spilled_variant_replaces_its_file(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    fill(store, 4)

    store.put(stored(b"example.com/0", size=300, body=b"", response_time=500.0))

    [found] = store.variants(b"example.com/0")
    assert found.response_time == 500.0
    assert store.statistics().promoted == 0
    assert store.audit() == []


def test_an_entry_that_cannot_be_written_is_dropped_not_raised(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    fill(store, 3)
    for own in tmp_path.iterdir():
        shutil.rmtree(own)  # the spill directory vanished under the store

    fill(store, 4)  # /0 .. /2 stored again, then /3 makes /0 spill

    stats = store.statistics()
    assert (stats.memory_objects, stats.disk_objects, stats.evicted) == (3, 0, 1)
    assert store.variants(b"example.com/0") == []


def test_a_promotion_the_admission_policy_declines_leaves_the_entry_on_disk(tmp_path):
    store = disk_store(
        tmp_path,
        max_memory_bytes=1_000,
        policy="w-tinylfu",
        random=random.Random(0).random,
    )
    fill(store, 9, size=100)  # nine hot entries (the tenth slot stays free)
    for _ in range(5):
        for number in range(9):
            store.variants(b"example.com/%d" % number)
    store.put(stored(b"example.com/a", size=100))
    store.put(stored(b"example.com/cold", size=150))  # loses its contest with every hot one
    assert store.statistics().disk_objects == 1
    [path] = spill_files(tmp_path)

    found = store.variants(b"example.com/cold")

    assert len(found) == 1
    stats = store.statistics()
    assert (stats.promoted, stats.disk_objects) == (0, 1)
    assert spill_files(tmp_path) == [path]
    assert store.audit() == []


def test_close_removes_every_spill_file_and_the_directory_it_made(tmp_path):
    spill_dir = tmp_path / "made" / "by-the-store"
    store = disk_store(spill_dir, max_memory_bytes=1_000)
    fill(store, 10)
    assert spill_files(spill_dir)

    store.close()

    assert not spill_dir.exists()
    assert (tmp_path / "made").exists()  # only the directory it made itself
    assert store.statistics().objects == 0


def test_close_leaves_a_given_directory_and_its_other_files(tmp_path):
    (tmp_path / "mine.txt").write_text("not the store's")
    with disk_store(tmp_path, max_memory_bytes=1_000) as store:
        fill(store, 10)

    assert [path.name for path in tmp_path.iterdir()] == ["mine.txt"]


def test_two_stores_may_share_a_spill_directory(tmp_path):
    one = disk_store(tmp_path, max_memory_bytes=1_000)
    two = disk_store(tmp_path, max_memory_bytes=1_000)
    fill(one, 4)
    fill(two, 4)

    one.close()

    assert len(two.variants(b"example.com/0")) == 1
    assert two.audit() == []


def test_a_store_is_usable_in_memory_after_close(tmp_path):
    store = Store(
        max_memory_bytes=1_000,
        max_disk_bytes=10_000,
        spill_dir=tmp_path,
        policy="lru",
        max_object_bytes=1_000,
    )
    store.close()

    fill(store, 4)

    assert store.statistics().memory_objects == 3
    assert store.statistics().disk_objects == 0
