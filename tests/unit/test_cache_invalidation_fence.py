"""The fence: a value read before an invalidation never enters L1 after it was handled."""

from millionscale.cache.invalidation import InvalidationFence


def test_a_read_with_no_invalidation_since_it_began_is_admitted():
    fence = InvalidationFence()
    fence.invalidated("a")

    ticket = fence.begin()

    assert fence.admits("a", ticket)


def test_a_read_overtaken_by_an_invalidation_of_its_key_is_refused():
    fence = InvalidationFence()
    ticket = fence.begin()

    fence.invalidated("a")

    assert not fence.admits("a", ticket)
    assert fence.admits("b", ticket)


def test_invalidating_everything_refuses_every_read_begun_before():
    fence = InvalidationFence()
    ticket = fence.begin()

    fence.invalidate_all()

    assert not fence.admits("any", ticket)
    assert fence.admits("any", fence.begin())


def test_past_its_memory_the_fence_refuses_every_older_read_not_just_the_keys_it_forgot():
    fence = InvalidationFence(max_keys=3)
    ticket = fence.begin()
    for key in ("a", "b", "c"):
        fence.invalidated(key)

    fence.invalidated("d")  # forgets a, b, c

    assert not any(fence.admits(key, ticket) for key in "abcde")
    later = fence.begin()
    assert all(fence.admits(key, later) for key in "abcde")
