"""Seed data for the photo-sharing application: users, who follows whom, photos.

Social graphs are skewed: a few accounts are followed by a large part of
everyone, most by a handful (follower counts follow a power law; Kwak et al.,
"What is Twitter, a social network or a news media?", WWW 2010). That skew is
what makes timelines and caches interesting (a celebrity's post fans out to
millions; a hot key), so the seed data has it too:

- followees are drawn with Zipf weights ``1 / rank ** ZIPF_EXPONENT`` over a
  seeded random ranking of users, so in-degree follows a power law;
- the top ``celebrities`` ranks are celebrities, each topped up until at
  least ``CELEBRITY_REACH`` of the other users follow them;
- how many users each one follows, and how many photos each one posted, are
  Pareto-distributed (a long tail of heavy users, many light ones).

Everything comes from one :class:`random.Random` seeded by the caller, so a
seed always gives the same :class:`Dataset`. Memory is about 100 bytes per
follow edge; 100,000 users at the default 20 follows each is ~200 MB.

The seeder and the bench agree on who exists through :func:`username` and
:data:`DEFAULT_PASSWORD`.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass

from millionscale.errors import ConfigError

__all__ = [
    "CELEBRITY_REACH",
    "DEFAULT_PASSWORD",
    "Dataset",
    "default_celebrities",
    "generate",
    "username",
]

DEFAULT_PASSWORD = "millionscale"  # every seeded user's password: local test data only
ZIPF_EXPONENT = 1.0  # classic Zipf; measured follower distributions have exponents near 1-2
CELEBRITY_REACH = 0.10  # each celebrity is followed by at least this share of the other users
CELEBRITY_SHARE = 0.01  # ~1 % of users are celebrities ...
MAX_DEFAULT_CELEBRITIES = 3  # ... but by default no more than a few
FOLLOWING_ALPHA = 2.0  # Pareto shape of "how many do I follow": mean = 2 x minimum
PHOTOS_ALPHA = 1.5  # Pareto shape of "how many photos did I post": heavier tail
MAX_FOLLOWING = 5_000  # Twitter's long-standing follow limit for most accounts
MAX_PHOTOS = 1_000
MAX_USERS = 10_000_000  # beyond this the edge tuples alone would not fit in memory
_DRAW_ROUNDS = 4  # rejection rounds when a draw hits self or a duplicate


def username(i: int) -> str:
    """The name of seeded user ``i``: ``user00000``, ``user00001``, ..."""
    if i < 0:
        raise ValueError(f"user numbers start at 0, not {i}")
    return f"user{i:05d}"


def default_celebrities(n_users: int) -> int:
    """A few celebrities: ~1 % of users, at most 3, at least 1."""
    return max(1, min(MAX_DEFAULT_CELEBRITIES, round(n_users * CELEBRITY_SHARE)))


@dataclass(frozen=True, slots=True)
class Dataset:
    """Users, follow edges and photo counts, by user index.

    ``users[i]`` is ``username(i)``; ``follows`` holds ``(follower, followee)``
    index pairs, sorted, with no self-follow and no duplicate;
    ``photos_per_user[i]`` is how many photos user ``i`` posted.
    """

    users: tuple[str, ...]
    follows: tuple[tuple[int, int], ...]
    photos_per_user: tuple[int, ...]

    def follower_counts(self) -> tuple[int, ...]:
        """How many followers each user has, by index."""
        counts = [0] * len(self.users)
        for _, followee in self.follows:
            counts[followee] += 1
        return tuple(counts)


def generate(
    n_users: int,
    *,
    seed: int = 0,
    celebrities: int | None = None,
    mean_following: float = 20.0,
    mean_photos: float = 4.0,
) -> Dataset:
    """A deterministic skewed dataset of ``n_users`` users for ``seed``.

    ``celebrities`` defaults to :func:`default_celebrities`. ``mean_following``
    and ``mean_photos`` are approximate means before the caps
    (:data:`MAX_FOLLOWING`, ``n_users - 1``, :data:`MAX_PHOTOS`).
    """
    _validate(n_users, celebrities, mean_following, mean_photos)
    n = n_users
    stars = default_celebrities(n) if celebrities is None else celebrities
    rng = random.Random(seed)

    ranking = list(range(n))
    rng.shuffle(ranking)  # ranking[r] is the user of popularity rank r
    cumulative = list(itertools.accumulate(1.0 / (r + 1) ** ZIPF_EXPONENT for r in range(n)))
    top = cumulative[-1]
    following_min = mean_following * (FOLLOWING_ALPHA - 1) / FOLLOWING_ALPHA
    celebrity_set = set(ranking[:stars])
    fans: dict[int, set[int]] = {star: set() for star in celebrity_set}

    edges: list[tuple[int, int]] = []
    for follower in range(n):
        want = min(n - 1, MAX_FOLLOWING, int(following_min * rng.paretovariate(FOLLOWING_ALPHA)))
        chosen: set[int] = set()
        for _ in range(_DRAW_ROUNDS):
            missing = want - len(chosen)
            if missing <= 0:
                break
            for _ in range(missing):
                rank = bisect.bisect_right(cumulative, rng.random() * top)
                followee = ranking[min(rank, n - 1)]
                if followee != follower and len(chosen) < want:
                    chosen.add(followee)
        for followee in sorted(chosen):
            edges.append((follower, followee))
            if followee in celebrity_set:
                fans[followee].add(follower)

    for star in ranking[:stars]:  # top up every celebrity to its reach
        reach = min(n - 1, math.ceil(CELEBRITY_REACH * (n - 1)))
        if len(fans[star]) < reach:
            others = [u for u in range(n) if u != star and u not in fans[star]]
            for follower in rng.sample(others, reach - len(fans[star])):
                edges.append((follower, star))

    photos_scale = mean_photos * (PHOTOS_ALPHA - 1)  # E[paretovariate - 1] = 1 / (alpha - 1)
    photos = tuple(
        min(MAX_PHOTOS, int(photos_scale * (rng.paretovariate(PHOTOS_ALPHA) - 1))) for _ in range(n)
    )
    return Dataset(
        users=tuple(username(i) for i in range(n)),
        follows=tuple(sorted(edges)),
        photos_per_user=photos,
    )


def _validate(
    n_users: int, celebrities: int | None, mean_following: float, mean_photos: float
) -> None:
    if not 1 <= n_users <= MAX_USERS:
        raise ConfigError(
            f"the number of users must be between 1 and {MAX_USERS:,}, not {n_users}",
            hint="pass e.g. 10000 users",
        )
    if celebrities is not None and not 0 <= celebrities <= n_users:
        raise ConfigError(
            f"celebrities must be between 0 and the number of users ({n_users}), not {celebrities}",
            hint="leave it out for the default of ~1 % (1 to 3)",
        )
    for name, value in (("mean_following", mean_following), ("mean_photos", mean_photos)):
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name} must be a number >= 0, not {value!r}", hint="pass e.g. 20")
