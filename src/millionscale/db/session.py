"""What a user's session must remember for read-your-writes: the LSN of its last write.

A :class:`Session` lives as long as the user's web session, not one request:
keep :meth:`Session.token` in the signed session cookie (or the server-side
session row) and rebuild it with :meth:`Session.from_token` on the next
request. The token is the LSN in PostgreSQL's text form (``'0/3000148'``), or
``''`` for a session that has not written.
"""

from __future__ import annotations

from millionscale.db.lsn import format_lsn, parse_lsn

__all__ = ["Session"]


class Session:
    """The last-write position of one user's session; only ever moves forward.

    Mutable on purpose: :meth:`Router.write` advances it after each commit.
    Not shared between users, so it needs no lock: one user's concurrent
    requests each carry their own copy, and each copy is at least as new as
    the writes that request made.
    """

    __slots__ = ("last_write_lsn",)

    def __init__(self, last_write_lsn: int | None = None) -> None:
        self.last_write_lsn = last_write_lsn

    def record_write(self, lsn: int) -> None:
        """Remember a commit at ``lsn`` (an older position than the one kept is ignored)."""
        if self.last_write_lsn is None or lsn > self.last_write_lsn:
            self.last_write_lsn = lsn

    def token(self) -> str:
        """A small string to keep across requests: the LSN, or ``''`` before any write."""
        return "" if self.last_write_lsn is None else format_lsn(self.last_write_lsn)

    @classmethod
    def from_token(cls, token: str) -> Session:
        """The session :meth:`token` described; a malformed token raises ``DatabaseError``."""
        return cls(None if token == "" else parse_lsn(token))

    def __repr__(self) -> str:
        return f"Session({self.token()!r})"
