"""PostgreSQL log sequence numbers (LSNs): text form <-> integer, with clear errors.

An LSN is a 64-bit byte position in the write-ahead log. PostgreSQL prints it
as two hexadecimal numbers, the high and the low 32 bits, separated by a slash:
``16/B374D848`` is ``0x16_B374D848``. Comparing the integers compares positions,
so "has this replica replayed my commit" is ``replay_lsn >= commit_lsn``.
"""

from __future__ import annotations

import re

from millionscale.errors import DatabaseError

__all__ = ["LSN_MAX", "format_lsn", "parse_lsn"]

LSN_MAX = 2**64 - 1  # pg_lsn is an unsigned 64-bit integer (src/include/access/xlogdefs.h)

# Each half is 1 to 8 hex digits, as pg_lsn_in accepts (src/backend/utils/adt/pg_lsn.c).
_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")
_HINT = (
    "an LSN is two hexadecimal numbers of at most 8 digits separated by a slash, like 16/B374D848"
)


def parse_lsn(text: str) -> int:
    """The byte position that ``text`` (``'16/B374D848'``) names.

    Raises :class:`~millionscale.errors.DatabaseError` for anything else,
    quoting (a prefix of) the bad input; never ``ValueError`` or ``IndexError``.
    """
    match = _LSN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        shown = repr(text[:40]) if isinstance(text, str) else type(text).__name__
        raise DatabaseError(f"not a PostgreSQL LSN: {shown}", hint=_HINT)
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(value: int) -> str:
    """``value`` as PostgreSQL prints it (upper-case hex, no leading zeros): ``'16/B374D848'``."""
    if not 0 <= value <= LSN_MAX:
        raise DatabaseError(
            f"LSN out of range: {value}", hint="an LSN is an integer from 0 to 2**64 - 1"
        )
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"
