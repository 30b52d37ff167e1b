"""The queued mode's timeline: precomputed entries merged with the posts merged at read
(the viewer's and their celebrities') give the page fan-out on read gives, once the
fan-out has run; paging through it with cursors gives the whole list, each photo once."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.photos.repository import Cursor, PhotoRecord, User
from millionscale.photos.timeline import is_celebrity, merge, newer_than_cursor, position

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def photo(photo_id: int, owner: int, second: int) -> PhotoRecord:
    return PhotoRecord(
        id=photo_id,
        owner=User(owner, f"user{owner}"),
        caption="",
        media_path=f"{photo_id}.jpg",
        thumbnail_path=None,
        width=1,
        height=1,
        like_count=0,
        created_at=EPOCH + timedelta(seconds=second),
        liked_by_me=False,
    )


def page(photos, before: Cursor | None, limit: int) -> list[PhotoRecord]:
    """What a keyset query answers: newest first, strictly below the cursor, ``limit``."""
    below = [p for p in photos if newer_than_cursor(p, before)]
    return sorted(below, key=position, reverse=True)[:limit]


def cursor_of(photo_record: PhotoRecord) -> Cursor:
    return Cursor(photo_record.created_at, photo_record.id)


@st.composite
def worlds(draw):
    """Users, follows, posts (seconds may tie), celebrities, some of whose posts were
    fanned out before they became one, and a viewer."""
    users = list(range(1, draw(st.integers(2, 6)) + 1))
    pairs = [(a, b) for a in users for b in users if a != b]
    follows = set(draw(st.lists(st.sampled_from(pairs), unique=True)))
    posts = [
        photo(index + 1, owner, second)
        for index, (owner, second) in enumerate(
            draw(st.lists(st.tuples(st.sampled_from(users), st.integers(0, 20)), max_size=40))
        )
    ]
    celebrities = set(draw(st.lists(st.sampled_from(users), unique=True)))
    early = {p.id for p in posts if p.owner.id in celebrities and draw(st.booleans())}
    viewer = draw(st.sampled_from(users))
    return follows, posts, celebrities, early, viewer


def fan_out_on_read(world) -> list[PhotoRecord]:
    follows, posts, _, _, viewer = world
    return [p for p in posts if p.owner.id == viewer or (viewer, p.owner.id) in follows]


def lists_of(world) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    """The viewer's entries of authors they follow (what the fan-out wrote), and the
    posts merged at read."""
    follows, posts, celebrities, early, viewer = world
    entries = [
        p
        for p in posts
        if (p.owner.id not in celebrities or p.id in early) and (viewer, p.owner.id) in follows
    ]
    at_read = [
        p
        for p in posts
        if p.owner.id == viewer or (p.owner.id in celebrities and (viewer, p.owner.id) in follows)
    ]
    return entries, at_read


@settings(max_examples=300, deadline=None)
@given(world=worlds(), limit=st.integers(1, 12), data=st.data())
def test_the_merge_is_the_page_fan_out_on_read_answers(world, limit, data):
    truth = fan_out_on_read(world)
    before = None
    if truth and data.draw(st.booleans()):
        before = cursor_of(data.draw(st.sampled_from(truth)))
    entries, at_read = lists_of(world)

    merged = merge(page(entries, before, limit), page(at_read, before, limit), limit)

    assert merged == page(truth, before, limit)


@settings(max_examples=200, deadline=None)
@given(world=worlds(), limit=st.integers(1, 5))
def test_paging_with_cursors_walks_the_whole_timeline_once(world, limit):
    entries, at_read = lists_of(world)
    seen: list[PhotoRecord] = []
    before = None
    for _ in range(50):  # 40 posts at most: bounded
        merged = merge(page(entries, before, limit), page(at_read, before, limit), limit)
        seen += merged
        if len(merged) < limit:
            break
        before = cursor_of(merged[-1])

    assert seen == page(fan_out_on_read(world), None, len(seen) + 1)


def test_a_photo_in_both_lists_appears_once():
    both = photo(7, owner=2, second=5)

    merged = merge([both, photo(3, 2, 1)], [both], limit=10)

    assert [p.id for p in merged] == [7, 3]


def test_ties_in_time_go_newest_id_first_and_the_limit_cuts():
    merged = merge([photo(1, 2, 0), photo(4, 2, 0)], [photo(2, 3, 0), photo(3, 3, 9)], limit=3)

    assert [p.id for p in merged] == [3, 4, 2]


def test_a_celebrity_is_over_the_threshold_not_at_it():
    assert not is_celebrity(10_000)
    assert is_celebrity(10_001)
    assert is_celebrity(3, threshold=2)
