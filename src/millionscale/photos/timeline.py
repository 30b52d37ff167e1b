"""The home timeline in the queued mode: fan-out on write, celebrities merged at read.

Pure: the decisions and the merge; :mod:`millionscale.photos.queued` runs the
SQL, :mod:`millionscale.photos.jobs` the fan-out. The hybrid that large social
networks use (Twitter's home timeline, 2013):

- a new post is written into each follower's precomputed list
  (``timeline_entries``) by a worker, in batches of :data:`FANOUT_BATCH`
  followers; each list keeps its newest :data:`TIMELINE_KEEP` entries;
- an author with more than :data:`CELEBRITY_FOLLOWERS` followers is a
  *celebrity*: their posts are not fanned out (a million inserts per post)
  but merged into their followers' timelines at read time. The worker that
  skips a post records the author in ``celebrities``, for good, so that a
  reader merges every post it skipped;
- the viewer's own posts are merged at read time too: a user sees their post
  at once, before any worker ran.

A page is then :func:`merge` of two newest-first lists cut at the same cursor:
the viewer's entries (of authors they still follow) and the posts merged at
read (theirs and their celebrities'). Both hold the ``limit`` newest below the
cursor, so the merge's ``limit`` newest are the union's: the page fan-out on
read would answer, once the workers have run. A post is in both lists when
its author became a celebrity after it was fanned out; it appears once.
"""

from __future__ import annotations

from collections.abc import Iterable

from millionscale.photos.repository import Cursor, PhotoRecord

__all__ = [
    "CELEBRITY_FOLLOWERS",
    "FANOUT_BATCH",
    "TIMELINE_KEEP",
    "is_celebrity",
    "merge",
    "newer_than_cursor",
    "position",
]

# Twitter's home timelines in Redis held 800 entries each (Raffi Krikorian,
# "Timelines at Scale", QCon San Francisco 2012); deeper pages are read on the fly.
TIMELINE_KEEP = 800
# Followers above which a post is merged at read instead of fanned out. A setting
# (CELEBRITY_FOLLOWERS); at 10,000 a post is at most 10 batches of inserts.
CELEBRITY_FOLLOWERS = 10_000
FANOUT_BATCH = 1_000  # followers per transaction: one short transaction, ~1,000 rows


def is_celebrity(followers: int, threshold: int = CELEBRITY_FOLLOWERS) -> bool:
    """Whether an author with ``followers`` is merged at read rather than fanned out."""
    return followers > threshold


def position(photo: PhotoRecord) -> tuple[object, int]:
    """A photo's place in a newest-first list: larger is newer (the keyset's order)."""
    return (photo.created_at, photo.id)


def newer_than_cursor(photo: PhotoRecord, before: Cursor | None) -> bool:
    """Whether ``photo`` belongs on a page that starts after ``before`` (strictly older)."""
    return before is None or position(photo) < (before.created_at, before.photo_id)


def merge(
    precomputed: Iterable[PhotoRecord], at_read: Iterable[PhotoRecord], limit: int
) -> list[PhotoRecord]:
    """The ``limit`` newest photos of both lists, newest first, each photo once.

    Either list may be in any order and hold duplicates. Where a photo is in
    both, the copy from ``at_read`` is kept (both were read in one snapshot:
    they are the same row).
    """
    by_id = {photo.id: photo for photo in precomputed}
    by_id.update((photo.id, photo) for photo in at_read)
    return sorted(by_id.values(), key=position, reverse=True)[: max(limit, 0)]
