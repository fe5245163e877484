"""The catalog-wide change counter: one revision per writing transaction, in commit order."""

from __future__ import annotations

from sqlalchemy import (
    Connection,
)

from catalog.store.statements import (
    BUMP_COUNTER,
    NEXT_IN_SEQUENCE,
    READ_COUNTER,
    REVISION_LOCK,
    STAMP,
    chunks,
)


class Revision:
    """The revision of one writing transaction: taken from the counter on first use, once.

    Created at the start of the transaction, before anything is written: on PostgreSQL that
    is where the advisory lock is taken (see the module docstring), so a batch never waits
    for it while holding row locks another batch wants.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._value: int | None = None
        if conn.dialect.name == "postgresql":
            conn.execute(REVISION_LOCK)

    @property
    def value(self) -> int:
        if self._value is None:
            self._value = next_revision(self.conn)
        return self._value


def next_revision(conn: Connection) -> int:
    """The next value of the catalog's change counter, inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(NEXT_IN_SEQUENCE).scalar_one())
    conn.execute(BUMP_COUNTER)
    return int(conn.execute(READ_COUNTER).scalar_one())


def stamp_revision(conn: Connection, ids: set[int], revision: Revision) -> None:
    if not ids:
        return
    value = revision.value
    for chunk in chunks(sorted(ids)):
        conn.execute(STAMP, {"rev": value, "ids": chunk})
