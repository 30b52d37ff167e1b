"""``millionscale photos``: the reference photo-sharing app of the running topology."""

from __future__ import annotations

from typing import Annotated

import typer

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.topology.state import DEFAULT_STATE_DIR

photos_app = typer.Typer(help="The reference photo-sharing app.", no_args_is_help=True)


@photos_app.command("seed")
def photos_seed(
    users: Annotated[int, typer.Option(min=1, max=1_000_000, help="Users to create.")] = 2_000,
    seed_value: Annotated[int, typer.Option("--seed", min=0, help="Seed of the dataset.")] = 0,
    reset: Annotated[bool, typer.Option(help="Delete all users and photos first.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Fill the running topology's photo app with a skewed dataset (users user00000...)."""
    from millionscale.bench.dataset import DEFAULT_PASSWORD, generate
    from millionscale.photos.seed import running_app, seed

    target = running_app(running_topology(state_dir))
    with console.status(f"seeding {users} users") as status:
        result = seed(
            target.database_url,
            target.media_dir,
            generate(users, seed=seed_value),
            seed_value=seed_value,
            reset=reset,
            progress=lambda step: status.update(f"seeding {step}"),
            timelines=target.queued,
            celebrity_followers=target.celebrity_followers,
        )
    if result.skipped:
        console.print("already seeded; pass --reset to replace it")
        return
    console.print(
        f"seeded {result.users} users, {result.follows} follows, {result.photos} photos; "
        f"log in as user00000 with password {DEFAULT_PASSWORD!r}; load it with "
        f"'millionscale bench --target {target.base_url}'"
    )
