"""What simulated users do: a weighted mix of actions on the photo-sharing API.

Each call of :meth:`Scenario.send` is one request: it picks an action by
weight with a seeded :class:`random.Random`, a user from the pool of
logged-in users, and when needed a photo from the pool of known photo ids.
The default mix is read-heavy like the photo-sharing sites it stands for:

    timeline=70, photo=15, like=8, post=5, signup=2

- ``timeline``: a first page of the user's timeline; its photo ids join the pool;
- ``photo``: one known photo;  ``like``: like one known photo (both read the
  timeline instead while no photo id is known yet);
- ``post``: upload a small JPEG; its id joins the pool;
- ``signup``: a new account with a name unique to this run;
- ``image``: one photo's file, fetched as a browser's ``<img>`` fetches it after
  a timeline (its ``url`` as the timeline gave it, no session cookie); the bytes
  are counted (:attr:`Scenario.image_bytes`). The photo is drawn from the last
  timeline pages read (:data:`RECENT_MEDIA_LIMIT` files, repeats kept), so that a
  photo on many timelines (a celebrity's) is fetched as often as browsers would. The default mix has no
  images (it measures the API); :data:`BROWSER_MIX` follows every timeline
  with about one image fetch per timeline read, as a page of photos would
  (reads the timeline instead while no file URL is known yet).

Logging in the pool happens before the run (:meth:`Scenario.log_in`) and is
not timed. The pool of photo ids is bounded; once full, new ids replace
random old ones.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import itertools
import math
import random
import secrets
from collections.abc import Awaitable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, get_args

from millionscale.bench.api import Identity, Media, PhotoApi, Reply, sample_jpeg
from millionscale.bench.dataset import DEFAULT_PASSWORD, username
from millionscale.bench.http import classify_exception, parse_target
from millionscale.bench.outcome import Outcome
from millionscale.errors import ConfigError

__all__ = [
    "ACTIONS",
    "BROWSER_MIX",
    "DEFAULT_MIX",
    "Action",
    "Mix",
    "Scenario",
    "Workload",
    "parse_mix",
    "signup_name",
]

Action = Literal["timeline", "photo", "like", "post", "signup", "image"]
ACTIONS: tuple[Action, ...] = get_args(Action)

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)

MAX_USERS = 100_000  # logged in before the run; each holds a session on the target
PHOTO_POOL_LIMIT = 10_000  # ids kept for photo/like (and file URLs for image); bounded
# whatever the run length
RECENT_MEDIA_LIMIT = 10 * 20  # the files of the last ten timeline pages (TIMELINE_LIMIT each)
LOGIN_CONCURRENCY = 8  # logins at once before the run: past the target's cores, more only queue
# (argon2 is CPU-bound) and, on a small host, queue past the request timeout, leaving
# the target hashing for clients that gave up while the first timed step runs


@dataclass(frozen=True, slots=True)
class Mix:
    """Action weights; ``choose`` picks one with probability weight / total."""

    weights: tuple[tuple[Action, float], ...]

    def __post_init__(self) -> None:
        total = sum(weight for _, weight in self.weights)
        if not self.weights or not total > 0:
            raise ConfigError(
                "the mix gives no weight to any action",
                hint="give at least one action a positive weight, e.g. timeline=1",
            )

    @property
    def total(self) -> float:
        return sum(weight for _, weight in self.weights)

    def share(self, action: Action) -> float:
        """The fraction of requests that are ``action``."""
        return dict(self.weights).get(action, 0.0) / self.total

    def choose(self, rng: random.Random) -> Action:
        """One action, drawn with one ``rng.random()`` call (so a seed fixes the sequence)."""
        names = [name for name, weight in self.weights if weight > 0]
        cumulative = list(itertools.accumulate(weight for _, weight in self.weights if weight > 0))
        index = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
        return names[min(index, len(names) - 1)]  # min: float rounding at the very top

    def __str__(self) -> str:
        return ",".join(f"{name}={weight:g}" for name, weight in self.weights)


DEFAULT_MIX = Mix((("timeline", 70), ("photo", 15), ("like", 8), ("post", 5), ("signup", 2)))

# A browser's mix: each timeline read (a page of photos) is followed by image fetches
# (the page's files, most of them held by the CDN); the API's reads and writes keep
# their proportions to each other. Ours; for the demo and the CDN's benchmark.
BROWSER_MIX = Mix(
    (
        ("timeline", 45),
        ("image", 40),
        ("photo", 7),
        ("like", 4),
        ("post", 3),
        ("signup", 1),
    )
)

_MIX_HINT = f"write it like {DEFAULT_MIX}"


def parse_mix(text: str) -> Mix:
    """A mix from ``"timeline=70,photo=15,..."``; ConfigError naming the part that is wrong.

    Weights are non-negative numbers; actions left out get weight 0; each
    action may appear once; at least one weight must be positive. The word
    ``browser`` names :data:`BROWSER_MIX`.
    """
    if text.strip() == "browser":
        return BROWSER_MIX
    if not text.strip():
        raise ConfigError("the mix is empty", hint=_MIX_HINT)
    weights: dict[Action, float] = {}
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            raise ConfigError(f"the mix {text!r} has an empty entry", hint=_MIX_HINT)
        name, equals, number = (piece.strip() for piece in part.partition("="))
        if not equals:
            raise ConfigError(f"mix entry {part!r} is not name=weight", hint=_MIX_HINT)
        action = next((a for a in ACTIONS if a == name), None)
        if action is None:
            raise ConfigError(
                f"mix entry {part!r} names no known action",
                hint=f"actions are {', '.join(ACTIONS)}",
            )
        if action in weights:
            raise ConfigError(f"mix entry {part!r} repeats {action!r}", hint=_MIX_HINT)
        try:
            weight = float(number)
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight >= 0):
            raise ConfigError(
                f"mix entry {part!r} needs a weight that is a number >= 0", hint=_MIX_HINT
            )
        weights[action] = weight
    return Mix(tuple(weights.items()))


@dataclass(frozen=True, slots=True)
class Workload:
    """What to run: where, as whom, and which mix with which seed.

    ``usernames`` and ``password`` name users that already exist on the
    target (the seeder makes them: see :func:`millionscale.bench.dataset.username`).
    ``photo_ids`` are known to exist; the run discovers more from timelines.
    """

    base_url: str
    usernames: tuple[str, ...]
    password: str
    photo_ids: tuple[str, ...] = ()
    mix: Mix = DEFAULT_MIX
    seed: int = 0

    @classmethod
    def seeded(
        cls,
        base_url: str,
        users: int,
        *,
        password: str = DEFAULT_PASSWORD,
        mix: Mix = DEFAULT_MIX,
        seed: int = 0,
    ) -> Workload:
        """Acting as the first ``users`` seeded users (``user00000``...)."""
        names = tuple(username(i) for i in range(max(0, users)))
        return cls(base_url=base_url, usernames=names, password=password, mix=mix, seed=seed)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", parse_target(self.base_url))
        if not 1 <= len(self.usernames) <= MAX_USERS:
            raise ConfigError(
                f"the workload needs 1 to {MAX_USERS:,} users to act as, not {len(self.usernames):,}",
                hint="pass e.g. --users 100",
            )


@dataclass(slots=True)
class _Pool(Generic[H]):
    """Known items (photo ids, file URLs), at most ``limit``; a full pool replaces a
    random old one."""

    rng: random.Random
    limit: int = PHOTO_POOL_LIMIT
    ids: list[H] = field(default_factory=list)
    known: set[H] = field(default_factory=set)

    def add(self, item: H) -> None:
        if item in self.known:
            return
        if len(self.ids) < self.limit:
            self.ids.append(item)
        else:
            slot = self.rng.randrange(self.limit)
            self.known.discard(self.ids[slot])
            self.ids[slot] = item
        self.known.add(item)

    def pick(self) -> H | None:
        return self.rng.choice(self.ids) if self.ids else None


class Scenario:
    """Turns a :class:`Workload` into one request per :meth:`send` call."""

    def __init__(self, workload: Workload, api: PhotoApi) -> None:
        self.workload = workload
        self.api = api
        self.rng = random.Random(workload.seed)
        self.users: list[Identity] = []
        self.photos: _Pool[str] = _Pool(random.Random(workload.seed + 1))
        self.media: collections.deque[Media] = collections.deque(maxlen=RECENT_MEDIA_LIMIT)
        self.images = 0  # image fetches that succeeded, their bytes, and those of them
        self.image_bytes = 0  # a CDN edge answered from its store (X-Cache: HIT, STALE)
        self.image_hits = 0
        self.image_hit_bytes = 0
        for photo_id in workload.photo_ids:
            self.photos.add(photo_id)
        self._run_tag = secrets.token_hex(3)  # new accounts must not clash with earlier runs
        self._signups = itertools.count()
        self._posts = itertools.count()

    async def log_in(self, concurrency: int = LOGIN_CONCURRENCY) -> str:
        """Log in every user of the workload (untimed); return one sentence saying how it went.

        Raises :class:`ConfigError` when the target cannot be reached or no
        user can log in: a run as nobody would measure only errors.
        """
        gate = asyncio.Semaphore(concurrency)

        async def one(name: str) -> Reply[Identity] | BaseException:
            async with gate:
                try:
                    return await self.api.login(name, self.workload.password)
                except Exception as error:
                    return error

        replies = await asyncio.gather(*(one(name) for name in self.workload.usernames))
        for reply in replies:
            if isinstance(reply, Reply) and reply.value is not None:
                self.users.append(reply.value)
        if not self.users:
            raise _login_failure(self.workload, replies[0])
        # Prime the photo pool so that photo and like have ids from the start; if
        # this fails, the run's own timeline reads will find photos.
        with contextlib.suppress(Exception):
            await self._timeline(self.users[0])
        return (
            f"logged in {len(self.users)} of {len(self.workload.usernames)} users; "
            f"{len(self.photos.ids)} photo ids known"
        )

    async def send(self) -> Outcome:
        """Perform one action of the mix; never raises (errors become outcomes)."""
        action = self.workload.mix.choose(self.rng)
        who = self.rng.choice(self.users) if self.users else Identity("", "")
        try:
            return await self._act(action, who)
        except Exception as error:
            return Outcome.failed(classify_exception(error))

    def _act(self, action: Action, who: Identity) -> Awaitable[Outcome]:
        if action in ("photo", "like"):
            photo_id = self.photos.pick()
            if photo_id is None:
                return self._timeline(who)
            call = self.api.photo if action == "photo" else self.api.like
            return self._plain(call(who, photo_id))
        if action == "image":
            if not self.media:
                return self._timeline(who)
            return self._image(self.rng.choice(self.media))
        if action == "post":
            return self._post(who)
        if action == "signup":
            name = signup_name(self._run_tag, next(self._signups))
            return self._plain(self.api.signup(name, self.workload.password))
        return self._timeline(who)

    async def _timeline(self, who: Identity) -> Outcome:
        reply = await self.api.timeline(who)
        for photo_id in reply.value.photo_ids if reply.value else ():
            self.photos.add(photo_id)
        self.media.extend(reply.value.media if reply.value else ())
        return reply.outcome

    async def _image(self, media: Media) -> Outcome:
        reply = await self.api.image(media.url)
        if reply.value is not None:
            self.images += 1
            self.image_bytes += reply.value.size
            if reply.value.from_edge:
                self.image_hits += 1
                self.image_hit_bytes += reply.value.size
        return reply.outcome

    def images_json(self) -> dict[str, int]:
        """What the image fetches got so far (for reports)."""
        return {
            "images": self.images,
            "image_bytes": self.image_bytes,
            "image_hits": self.image_hits,
            "image_hit_bytes": self.image_hit_bytes,
        }

    async def _post(self, who: Identity) -> Outcome:
        reply = await self.api.post(who, sample_jpeg(), f"bench photo {next(self._posts)}")
        if reply.value is not None:
            self.photos.add(reply.value)
        return reply.outcome

    @staticmethod
    async def _plain(call: Awaitable[Reply[T]]) -> Outcome:
        return (await call).outcome


def signup_name(run_tag: str, n: int) -> str:
    """The ``n``-th account a run signs up: ``b`` + the run's tag + ``n``.

    Lowercase letters and digits only, and at most 30 characters for any
    ``n`` below 10**20, so that it fits the API's ``^[a-z0-9_]{3,30}$``.
    """
    return f"b{run_tag}{n}"


def _login_failure(workload: Workload, first: object) -> ConfigError:
    """Why nobody could log in, as a one-line error with the fix."""
    name = workload.usernames[0]
    if isinstance(first, BaseException):
        kind = classify_exception(first)
        if kind in ("connect", "timeout"):
            return ConfigError(
                f"cannot reach {workload.base_url}: {first}",
                hint="start the service, or check --target",
            )
        return ConfigError(
            f"logging in as {name!r} failed: {type(first).__name__}: {first}",
            hint="check that --target serves the photo-sharing API",
        )
    outcome = first.outcome if isinstance(first, Reply) else Outcome.failed("other")
    if outcome.error == "status_4xx":
        return ConfigError(
            f"no user could log in at {workload.base_url} (first tried: {name!r})",
            hint="seed the target's database first, or pass the seeder's --password",
        )
    return ConfigError(
        f"no user could log in at {workload.base_url}: login answered with {outcome.error}",
        hint="check that --target serves the photo-sharing API and is healthy",
    )
