"""Seeding the photo app with a skewed, reproducible dataset, fast.

The dataset (users, Zipf-skewed follows with a few celebrities, photos per
user) comes from :func:`millionscale.bench.dataset.generate`, so the seeder
and the load generator agree on who exists. Rows go in with PostgreSQL's
``COPY`` (tens of thousands of rows a second, where the API would spend 50 ms
of argon2 per sign-up); every seeded user shares one password hash, computed
once. Photos reuse a small palette of generated JPEGs, stored through the same
:class:`~millionscale.photos.media.MediaStore` as uploads.

Seeding runs in one transaction: it is all there or not at all. A database
that already holds the seeded users is left alone unless ``reset`` is asked.

For an app in the queued mode (``timelines``), the seeded posts are also
written into the precomputed timelines, as the workers' fan-out would have
(each user's newest :data:`~millionscale.photos.timeline.TIMELINE_KEEP`), and
authors over the celebrity threshold recorded as celebrities: one
``INSERT ... SELECT`` each, a few seconds for 5,000 users.
"""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from PIL import Image

from millionscale.bench.dataset import DEFAULT_PASSWORD, Dataset
from millionscale.errors import ConfigError, DatabaseError, first_line
from millionscale.photos.media import MediaStore, StoredPhoto
from millionscale.photos.passwords import hasher
from millionscale.photos.schema import migrate
from millionscale.photos.timeline import CELEBRITY_FOLLOWERS, TIMELINE_KEEP
from millionscale.topology.replication import claimed_primary, cluster_of
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.urls import browser_url, engine_url

__all__ = ["RunningApp", "SeedResult", "running_app", "seed"]

PALETTE = 12  # distinct seeded images; content-addressed, so 12 files however many photos
HISTORY = timedelta(days=30)  # seeded photos are spread over the last month
CAPTIONS = ("sunset", "coffee", "the view from here", "weekend", "new city", "friends", "")


@dataclass(frozen=True, slots=True)
class SeedResult:
    users: int
    follows: int
    photos: int
    skipped: bool  # the database was already seeded


def _palette(media: MediaStore, rng: random.Random) -> list[StoredPhoto]:
    stored = []
    for _ in range(PALETTE):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), colour).save(buffer, "JPEG", quality=85)
        stored.append(media.store(buffer.getvalue()))
    return stored


def seed(
    database_url: str,
    media_dir: Path,
    dataset: Dataset,
    *,
    seed_value: int = 0,
    reset: bool = False,
    progress: Callable[[str], None] = lambda _step: None,
    timelines: bool = False,
    celebrity_followers: int = CELEBRITY_FOLLOWERS,
) -> SeedResult:
    """Load ``dataset`` into the photo app's database; see the module docstring."""
    try:
        result = _seed(database_url, media_dir, dataset, seed_value, reset, progress)
        if timelines and not result.skipped:
            progress("timelines")
            _precompute_timelines(database_url, celebrity_followers)
        return result
    except psycopg.Error as error:
        raise DatabaseError(
            f"seeding the photo app's database failed: {first_line(error)}",
            hint="check that the topology runs and that its primary answers: "
            "'millionscale db status'",
        ) from None


_CELEBRITIES = """
INSERT INTO celebrities (user_id)
SELECT followee_id FROM follows GROUP BY followee_id HAVING count(*) > %(threshold)s
ON CONFLICT DO NOTHING
"""
_TIMELINES = """
INSERT INTO timeline_entries (user_id, photo_id, created_at)
SELECT user_id, photo_id, created_at FROM (
    SELECT f.follower_id AS user_id, p.id AS photo_id, p.created_at,
           row_number() OVER (
               PARTITION BY f.follower_id ORDER BY p.created_at DESC, p.id DESC
           ) AS n
    FROM follows f JOIN photos p ON p.owner_id = f.followee_id
    WHERE NOT EXISTS (SELECT 1 FROM celebrities c WHERE c.user_id = f.followee_id)
) ranked
WHERE n <= %(keep)s
ON CONFLICT DO NOTHING
"""


def _precompute_timelines(database_url: str, celebrity_followers: int) -> None:
    """What the workers' fan-out would have written for every seeded post (one transaction)."""
    with psycopg.connect(database_url) as conn:
        conn.execute(_CELEBRITIES, {"threshold": celebrity_followers})
        conn.execute(_TIMELINES, {"keep": TIMELINE_KEEP})
        conn.execute("ANALYZE timeline_entries, celebrities")


def _primary_url(topology: ResolvedTopology, app: ResolvedProcess) -> str | None:
    """The URL of ``app``'s primary from here (the root namespace): the failover
    monitor's primary in a replicated cluster, else the PostgreSQL primary ``app``
    depends on; None if it depends on none."""
    cluster = cluster_of(topology.processes)
    if cluster is not None:
        primary = cluster.current_primary(claimed_primary(topology.state().claims()))
        return engine_url(cluster.members[primary])
    for name in app.depends_on:
        dependency = topology.process(name)
        if dependency.engine == "postgres" and dependency.replica_of is None:
            return engine_url(dependency)
    return None


def _seed(
    database_url: str,
    media_dir: Path,
    dataset: Dataset,
    seed_value: int,
    reset: bool,
    progress: Callable[[str], None],
) -> SeedResult:
    migrate(database_url)
    rng = random.Random(seed_value)
    with psycopg.connect(database_url) as conn:
        if reset:
            conn.execute(
                "TRUNCATE users, follows, photos, likes, sessions, timeline_entries, celebrities"
                " RESTART IDENTITY"
            )
        elif conn.execute(
            "SELECT 1 FROM users WHERE username = %s", (dataset.users[0],)
        ).fetchone():
            return SeedResult(0, 0, 0, skipped=True)
        progress("users")
        password_hash = hasher().hash(DEFAULT_PASSWORD)
        with conn.cursor().copy("COPY users (username, password_hash) FROM STDIN") as copy:
            for name in dataset.users:
                copy.write_row((name, password_hash))
        ids: dict[str, int] = dict(
            conn.execute(
                "SELECT username, id FROM users WHERE username = ANY(%s)", (list(dataset.users),)
            ).fetchall()
        )
        user_id = [ids[name] for name in dataset.users]
        progress("follows")
        with conn.cursor().copy("COPY follows (follower_id, followee_id) FROM STDIN") as copy:
            for follower, followee in dataset.follows:
                copy.write_row((user_id[follower], user_id[followee]))
        progress("photos")
        palette = _palette(MediaStore(media_dir), rng)
        now = datetime.now(UTC)
        photos = 0
        columns = "owner_id, caption, media_path, thumbnail_path, width, height, created_at"
        with conn.cursor().copy(f"COPY photos ({columns}) FROM STDIN") as copy:
            for index, count in enumerate(dataset.photos_per_user):
                for _ in range(count):
                    image = rng.choice(palette)
                    taken = now - HISTORY * rng.random()
                    copy.write_row(
                        (
                            user_id[index],
                            rng.choice(CAPTIONS),
                            image.media_path,
                            image.thumbnail_path,
                            image.width,
                            image.height,
                            taken,
                        )
                    )
                    photos += 1
        progress("analyze")
        conn.execute("ANALYZE users, follows, photos")
    return SeedResult(len(dataset.users), len(dataset.follows), photos, skipped=False)


@dataclass(frozen=True, slots=True)
class RunningApp:
    """Where a running topology's photo app is, and what it stores where."""

    base_url: str
    database_url: str
    media_dir: Path
    queued: bool = False  # in the queued mode (QUEUE_URL): timelines are precomputed
    celebrity_followers: int = CELEBRITY_FOLLOWERS  # the workers' threshold


def running_app(topology: ResolvedTopology) -> RunningApp:
    """The photo app of a resolved topology (the first process that runs it).

    Its ``base_url`` is where users come in (:func:`~millionscale.topology.urls.browser_url`):
    a CDN edge when the topology has one, else the load balancer, else the app.
    Its ``database_url`` is the primary's now: after a failover, the one the
    failover monitor recorded, not the one the topology file started with.
    """
    entry = browser_url(topology)
    threshold = CELEBRITY_FOLLOWERS
    for process in topology.processes:  # the photo app's workers say who is a celebrity
        if any("millionscale.photos.jobs:tasks" in arg for arg in process.argv or ()):
            with contextlib.suppress(ValueError):
                threshold = int(process.env.get("CELEBRITY_FOLLOWERS", "") or threshold)
    for process in topology.processes:
        if process.argv and "millionscale.photos.app" in process.argv:
            return RunningApp(
                base_url=(entry or f"http://{process.address}/").rstrip("/"),
                database_url=_primary_url(topology, process) or process.env["DATABASE_URL"],
                media_dir=Path(process.env.get("MEDIA_DIR", "media")),
                queued=bool(process.env.get("QUEUE_URL", "").strip()),
                celebrity_followers=threshold,
            )
    raise ConfigError(
        f"topology {topology.name} runs no photo app",
        hint="start one that does, such as topologies/single-server.toml",
    )
