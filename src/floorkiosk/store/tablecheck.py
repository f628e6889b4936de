"""A derived table beside the journal's fold of it: a digest of each side and the first row that differs.

Both sides are read in the same order (every column), a chunk of rows at a time, and compared chunk
by chunk (a chunk's rows differ rarely: only then are they looked at one by one), so memory stays
that of two chunks whatever the size of the table. The digest is a SHA-256 over the repr of each
row, each followed by a newline, whatever the chunks: the same rows give the same digest.

Used by Journal.check_derived for the tables it folds itself, and by the rebuild helper
(store.apart) for those it folds in a second process.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from dataclasses import dataclass

CHUNK = 5000


@dataclass(frozen=True)
class TableCheck:
    """One derived table beside the journal's fold: the digest of each, and the first rows that differ."""

    table: str
    stored: str | None  # sha256 of the stored rows; None when the table is missing
    folded: str
    stored_row: tuple | None
    folded_row: tuple | None
    missing: bool
    columns: list[str]

    @property
    def same(self) -> bool:
        return not self.missing and self.stored == self.folded

    def __str__(self) -> str:
        if self.missing:
            return f"table {self.table} is missing (the journal gives it rows, digest {self.folded[:16]})"
        if self.same:
            return f"table {self.table}: as the journal gives it (sha256 {self.folded[:16]})"
        def said(row: tuple | None) -> str:
            return "no row" if row is None else "(" + ", ".join(f"{c}={v!r}" for c, v in zip(self.columns, row)) + ")"
        return (f"table {self.table} differs from the journal (stored sha256 {self.stored[:16]}, journal gives "
                f"{self.folded[:16]}); first differing row: stored {said(self.stored_row)}, "
                f"journal gives {said(self.folded_row)}")


def compare(table: str, folded: sqlite3.Connection, folded_schema: str,
            stored: sqlite3.Connection | None, stored_schema: str = "main") -> TableCheck:
    """The table as folded (in `folded_schema` on `folded`) beside the table as stored (on `stored`,
    None when it is missing there). The folded side gives the columns."""
    cols = [r[1] for r in folded.execute(f'PRAGMA {folded_schema}.table_info("{table}")')]
    order = ", ".join(f'"{c}"' for c in cols)
    b = folded.cursor().execute(f'SELECT {order} FROM {folded_schema}."{table}" ORDER BY {order}')
    a = None if stored is None else stored.cursor().execute(
        f'SELECT {order} FROM {stored_schema}."{table}" ORDER BY {order}')
    here, there = hashlib.sha256(), hashlib.sha256()
    first = None
    while True:
        rb = b.fetchmany(CHUNK)
        ra = a.fetchmany(CHUNK) if a is not None else []
        if not ra and not rb:
            break
        there.update(_text(rb))
        if a is not None:
            here.update(_text(ra))
            if first is None and ra != rb:
                first = next((x, y) for x, y in itertools.zip_longest(ra, rb) if x != y)
    if a is None:
        return TableCheck(table, None, there.hexdigest(), None, None, True, cols)
    return TableCheck(table, here.hexdigest(), there.hexdigest(), *(first or (None, None)), False, cols)


def _text(rows: list[tuple]) -> bytes:
    return ("\n".join(map(repr, rows)) + "\n").encode() if rows else b""
