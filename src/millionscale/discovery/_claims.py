"""Compare-and-set on a role's epoch: the one rule every RoleRegistry applies."""

from __future__ import annotations

from millionscale.discovery._snapshot import RoleClaim
from millionscale.errors import StaleEpochError

__all__ = ["settle_claim"]


def settle_claim(role: str, current: RoleClaim | None, holder: str, epoch: int) -> bool:
    """Whether ``holder``'s claim of ``role`` at ``epoch`` changes the role.

    True: it supersedes ``current`` (none, or a lower epoch); False: it *is*
    ``current`` (a retry, accepted again). Any other claim raises
    :class:`~millionscale.errors.StaleEpochError` naming the holder in force.
    """
    if current == RoleClaim(holder, epoch):
        return False
    if current is not None and epoch <= current.epoch:
        raise StaleEpochError(
            f"{role} is held by {current.holder} at epoch {current.epoch}; "
            f"{holder}'s claim at epoch {epoch} is stale",
            hint="the claimant was superseded: read the current holder and follow it",
            holder=current.holder,
            epoch=current.epoch,
        )
    return True
