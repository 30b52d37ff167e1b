"""The photo app's reads through the cache tiers, its writes invalidating what they change.

:class:`CachedPhotoRepository` wraps the PostgreSQL repository: a read asks
the tiered cache (:mod:`millionscale.cache`: this process's L1 (CACHE_L1),
Redis, then the database, one loader per key across all web servers), and a
write commits first, then invalidates every key it changed. What is cached,
and how fresh it is after a write commits and its invalidation returns:

=====================  ====================================  =========================
key                    holds                                 old value served at most
=====================  ====================================  =========================
``user:ID``            id and username (never change)        forever correct
``photo:ID``           a photo as anyone sees it             the invalidation bound
``liked:VIEWER:ID``    whether the viewer likes the photo    the invalidation bound
``profile:NAME``       counts and newest photos, anonymous   the invalidation bound
``timeline:VIEWER``    the viewer's newest 50 photos         the viewer's own writes:
                                                             the invalidation bound;
                                                             others' posts, likes and
                                                             deletes: ``TIMELINE_TTL_S``
=====================  ====================================  =========================

The invalidation bound is the tiers' (docs/cache.md): the pub/sub delivery
time in normal operation. A timeline is one viewer's join over everyone they
follow; invalidating it on every followee's write is a fan-out on write we
do not do, so a follower sees a new post, a caption change or another user's
like within ``TIMELINE_TTL_S`` (5 s) instead.

Loaders read the primary (strong consistency): a key invalidated after a
write is refilled from the truth, never from a replica still behind that
write, which would cache the old value for every user. The viewer's marks on
a cached profile (``followed_by_me``, ``liked_by_me``) come from one small
query; an anonymous viewer's profile comes from the cache alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from millionscale.cache.tiered import TieredCache
from millionscale.photos.repository import (
    Cursor,
    PhotoRecord,
    PostgresPhotoRepository,
    Profile,
    RemovedMedia,
    User,
)

__all__ = ["CACHED_PAGE", "CACHE_NAME", "TIMELINE_TTL_S", "CachedPhotoRepository", "photo_keys"]

CACHE_NAME = "photos"  # the tiered cache's name: its keys' namespace, shared with the workers

CACHED_PAGE = 50  # photos kept per timeline and profile (the API's pages are 20 by default)
TIMELINE_TTL_S = 5.0  # how late a follower may see a followee's change
USER_TTL_S = 3600.0  # users never change: the TTL only bounds memory
TTL_S = 60.0  # everything that writes invalidate


def _photo_json(photo: PhotoRecord) -> dict[str, Any]:
    return {
        "id": photo.id,
        "owner": [photo.owner.id, photo.owner.username],
        "caption": photo.caption,
        "media_path": photo.media_path,
        "thumbnail_path": photo.thumbnail_path,
        "width": photo.width,
        "height": photo.height,
        "like_count": photo.like_count,
        "created_at": photo.created_at.isoformat(),
        "liked_by_me": photo.liked_by_me,
    }


def _photo(data: dict[str, Any]) -> PhotoRecord:
    return PhotoRecord(
        id=data["id"],
        owner=User(*data["owner"]),
        caption=data["caption"],
        media_path=data["media_path"],
        thumbnail_path=data["thumbnail_path"],
        width=data["width"],
        height=data["height"],
        like_count=data["like_count"],
        created_at=datetime.fromisoformat(data["created_at"]),
        liked_by_me=data["liked_by_me"],
    )


def photo_keys(photo_id: int, owner_id: int, owner: str | None) -> list[str]:
    """The keys that hold photo ``photo_id`` of ``owner_id`` (named ``owner``, if known)
    as everyone sees it: what a change to the photo's row invalidates. A worker
    that sets a thumbnail invalidates them too (:mod:`millionscale.photos.jobs`);
    followers' timelines catch up within :data:`TIMELINE_TTL_S`."""
    keys = [f"photo:{photo_id}", f"timeline:{owner_id}"]
    if owner is not None:
        keys.append(f"profile:{owner}")
    return keys


def _older(photos: list[PhotoRecord], before: Cursor | None) -> list[PhotoRecord]:
    if before is None:
        return photos
    return [p for p in photos if (p.created_at, p.id) < (before.created_at, before.photo_id)]


class CachedPhotoRepository:
    """A :class:`~millionscale.photos.repository.PhotoRepository` in front of ``truth``."""

    def __init__(self, truth: PostgresPhotoRepository, cache: TieredCache) -> None:
        self.truth = truth
        self.cache = cache

    # -- reads ----------------------------------------------------------------

    async def user(self, user_id: int) -> User | None:
        async def load() -> list[Any] | None:
            user = await self.truth.user(user_id, strong=True)
            return None if user is None else [user.id, user.username]

        data = await self.cache.get_or_load(f"user:{user_id}", load, USER_TTL_S)
        return None if data is None else User(*data)

    async def credentials(self, username: str) -> tuple[User, str] | None:
        return await self.truth.credentials(username)  # a password hash is not cached

    async def _shared_photo(self, photo_id: int) -> PhotoRecord | None:
        async def load() -> dict[str, Any] | None:
            photo = await self.truth.photo(photo_id, None, strong=True)
            return None if photo is None else _photo_json(photo)

        data = await self.cache.get_or_load(f"photo:{photo_id}", load, TTL_S)
        return None if data is None else _photo(data)

    async def _liked(self, viewer_id: int, photo_id: int) -> bool:
        async def load() -> bool:
            _, liked = await self.truth.viewer_marks(viewer_id, None, [photo_id])
            return photo_id in liked

        return bool(await self.cache.get_or_load(f"liked:{viewer_id}:{photo_id}", load, TTL_S))

    async def photo(self, photo_id: int, viewer_id: int | None) -> PhotoRecord | None:
        photo = await self._shared_photo(photo_id)
        if photo is None or viewer_id is None:
            return photo
        return replace(photo, liked_by_me=await self._liked(viewer_id, photo_id))

    async def timeline(
        self, viewer_id: int, before: Cursor | None, limit: int
    ) -> list[PhotoRecord]:
        async def load() -> list[dict[str, Any]]:
            photos = await self.truth.timeline(viewer_id, None, CACHED_PAGE, strong=True)
            return [_photo_json(p) for p in photos]

        data = await self.cache.get_or_load(f"timeline:{viewer_id}", load, TIMELINE_TTL_S)
        photos = _older([_photo(d) for d in data], before)
        if len(photos) >= limit or len(data) < CACHED_PAGE:
            return photos[:limit]  # the cached page holds the answer (or all there is)
        return await self.truth.timeline(viewer_id, before, limit)  # deeper than we keep

    async def profile(self, username: str, viewer_id: int | None, limit: int) -> Profile | None:
        async def load() -> dict[str, Any] | None:
            found = await self.truth.profile(username, None, CACHED_PAGE, strong=True)
            if found is None:
                return None
            return {
                "user": [found.user.id, found.user.username],
                "counts": [found.followers, found.following, found.photo_count],
                "photos": [_photo_json(p) for p in found.photos],
            }

        data = await self.cache.get_or_load(f"profile:{username}", load, TTL_S)
        if data is None:
            return None
        photos = [_photo(d) for d in data["photos"]]
        if limit > len(photos) and len(photos) == CACHED_PAGE:
            return await self.truth.profile(username, viewer_id, limit)  # deeper than we keep
        photos = photos[:limit]
        followed = False
        if viewer_id is not None:
            followed, liked = await self.truth.viewer_marks(
                viewer_id, data["user"][0], [p.id for p in photos]
            )
            photos = [replace(p, liked_by_me=p.id in liked) for p in photos]
        followers, following, photo_count = data["counts"]
        return Profile(
            user=User(*data["user"]),
            followers=followers,
            following=following,
            photo_count=photo_count,
            followed_by_me=followed,
            photos=tuple(photos),
        )

    # -- writes: commit, then invalidate ---------------------------------------

    async def _username(self, user_id: int) -> str | None:
        user = await self.user(user_id)
        return None if user is None else user.username

    async def create_user(self, username: str, password_hash: str) -> User:
        user = await self.truth.create_user(username, password_hash)
        # A cached absence of this profile (someone looked before it existed) goes.
        await self.cache.invalidate(f"profile:{username}", f"user:{user.id}")
        return user

    async def _follow_change(self, follower_id: int, username: str, follow: bool) -> bool:
        change = self.truth.follow if follow else self.truth.unfollow
        changed = await change(follower_id, username)
        if changed:
            keys = [f"timeline:{follower_id}", f"profile:{username}"]
            follower = await self._username(follower_id)
            if follower is not None:
                keys.append(f"profile:{follower}")
            await self.cache.invalidate(*keys)
        return changed

    async def follow(self, follower_id: int, username: str) -> bool:
        return await self._follow_change(follower_id, username, True)

    async def unfollow(self, follower_id: int, username: str) -> bool:
        return await self._follow_change(follower_id, username, False)

    async def _changed_photo(self, photo_id: int, owner_id: int, *more: str) -> None:
        owner = await self._username(owner_id)
        await self.cache.invalidate(*photo_keys(photo_id, owner_id, owner), *more)

    async def add_photo(
        self,
        owner_id: int,
        caption: str,
        media_path: str,
        thumbnail_path: str | None,
        width: int,
        height: int,
    ) -> PhotoRecord:
        photo = await self.truth.add_photo(
            owner_id, caption, media_path, thumbnail_path, width, height
        )
        await self._changed_photo(photo.id, owner_id)
        return photo

    async def update_caption(self, photo_id: int, owner_id: int, caption: str) -> bool:
        changed = await self.truth.update_caption(photo_id, owner_id, caption)
        if changed:
            await self._changed_photo(photo_id, owner_id)
        return changed

    async def delete_photo(self, photo_id: int, owner_id: int) -> RemovedMedia | None:
        removed = await self.truth.delete_photo(photo_id, owner_id)
        if removed is not None:
            await self._changed_photo(photo_id, owner_id)
        return removed

    async def like(self, photo_id: int, user_id: int, liked: bool) -> int | None:
        count = await self.truth.like(photo_id, user_id, liked)
        if count is not None:
            photo = await self._shared_photo(photo_id)  # its owner, before the key goes
            keys = [f"photo:{photo_id}", f"liked:{user_id}:{photo_id}", f"timeline:{user_id}"]
            if photo is not None:
                keys.append(f"profile:{photo.owner.username}")
            await self.cache.invalidate(*keys)
        return count
