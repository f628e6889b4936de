"""Rebuilding some derived tables in a second process, beside the journal's own rebuild.

A full rebuild folds millions of events through several projectors, each in pure Python, so one
core does all of it. Projectors that read only their own tables (QC, the metal ledger, the KPI
flow) can be folded by a helper process while this one folds the others: the helper reads the same
events from the journal (the rebuilding connection holds the write lock, so nothing can be
appended between the two reads), writes its tables into a scratch database beside the journal,
and the rebuilding transaction copies them in with one INSERT … SELECT per table. Nothing is
committed until that copy is done, so the derived tables still change all at once or not at all.

The helper is `python -m floorkiosk.store.apart`; it receives the projectors pickled on stdin.
If it fails, the caller folds those projectors itself (see Journal.rebuild): slower, same result.
"""

from __future__ import annotations

import gc
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import floorkiosk
from floorkiosk.store import tablecheck
from floorkiosk.store.rows import read_chunks
from floorkiosk.store.tablecheck import TableCheck


def table_sql(conn: sqlite3.Connection, tables: list[str]) -> list[str]:
    """The CREATE TABLE statements of these tables, as the journal's schema has them now."""
    marks = ",".join("?" * len(tables))
    return [r[0] for r in conn.execute(
        f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN ({marks}) ORDER BY name", tables)]


class Helper:
    """The helper process and its scratch database, seen from the rebuilding side."""

    def __init__(self, journal: Path, projectors: list, order: str, conn: sqlite3.Connection,
                 chunk: int = 20000, compare: bool = False, schema: list[str] | None = None) -> None:
        """`compare`: the helper also compares the tables it folded with those stored in the journal
        (in the same read of it) and leaves the TableChecks for `checks()`; nothing is copied in.
        `schema`: the CREATE TABLE statements of its tables (default: as the journal has them now)."""
        self.projectors = projectors
        self.tables = [t for p in projectors for t in p.tables]
        self.scratch = journal.with_name(f"{journal.name}.rebuild-{os.getpid()}")
        self.log = self.scratch.with_name(self.scratch.name + ".log")
        self.result = self.scratch.with_name(self.scratch.name + ".checks")
        self.attached = False
        self._remove()
        # the events they want, where each says (rebuild_types); else all
        wanted = [getattr(p, "rebuild_types", None) for p in projectors]
        types = None if any(w is None for w in wanted) else sorted(set().union(*wanted))
        job = {"journal": str(journal), "scratch": str(self.scratch), "order": order, "projectors": projectors,
               "schema": schema if schema is not None else table_sql(conn, self.tables), "types": types,
               "chunk": chunk, "compare": str(self.result) if compare else None}
        env = dict(os.environ)
        # the helper must import this very package, installed or from a source checkout
        src = str(Path(floorkiosk.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        try:
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen([sys.executable, "-m", "floorkiosk.store.apart"],
                                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, env=env)
        except OSError:
            self._remove()
            raise
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            self.proc.stdin.close()
        except OSError:
            pass  # it died at once: finish() reports it

    def _wait(self, timeout: float | None) -> str | None:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return f"the rebuild helper took more than {timeout:.0f} s and was stopped"
        if rc != 0:
            try:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1:]
            except OSError:
                tail = []
            return f"the rebuild helper stopped with exit code {rc}" + (f": {tail[0]}" if tail else "")
        return None

    def checks(self, timeout: float | None = None) -> tuple[list[TableCheck] | None, str | None]:
        """Wait for a comparing helper: (its tables' checks, None), or (None, why it could not)."""
        why = self._wait(timeout)
        if why is not None:
            return None, why
        try:
            return pickle.loads(self.result.read_bytes()), None
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            return None, f"the rebuild helper's checks could not be read: {exc}"

    def finish(self, conn: sqlite3.Connection, timeout: float | None = None) -> str | None:
        """Wait for the helper (at most `timeout` s) and copy its tables in on `conn`, inside the
        caller's transaction.

        Returns None when done, or why it could not be (the caller then folds these projectors itself).
        """
        why = self._wait(timeout)
        if why is not None:
            return why
        conn.execute("ATTACH DATABASE ? AS apart", (str(self.scratch),))
        self.attached = True
        for t in self.tables:
            cols = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA main.table_info("{t}")'))
            conn.execute(f'DELETE FROM main."{t}"')
            conn.execute(f'INSERT INTO main."{t}" ({cols}) SELECT {cols} FROM apart."{t}"')
        return None

    def close(self, conn: sqlite3.Connection) -> None:
        """After the caller's transaction ended: stop the helper if it still runs, forget the scratch file."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.attached:
            try:
                conn.execute("DETACH DATABASE apart")
            except sqlite3.Error:
                pass
        self._remove()

    def _remove(self) -> None:
        for f in (self.scratch, self.log, self.result, self.scratch.with_name(self.scratch.name + "-journal")):
            try:
                f.unlink()
            except FileNotFoundError:
                pass


def main() -> int:
    """The helper: fold the given projectors over every event into a scratch database."""
    gc.disable()  # see journal.gc_paused
    job = pickle.load(sys.stdin.buffer)
    src = sqlite3.connect(f"file:{quote(job['journal'])}?mode=ro", uri=True)
    src.execute("PRAGMA cache_size=-16384")  # read once, front to back
    # one read of the journal for the fold and the comparison: the events and the stored tables
    # that an append changes together are seen as of the same moment
    src.execute("BEGIN")
    out = sqlite3.connect(job["scratch"], isolation_level=None)
    # scratch: nothing here needs to survive a crash, the journal is untouched until the copy
    out.execute("PRAGMA journal_mode=OFF")
    out.execute("PRAGMA synchronous=OFF")
    out.execute("PRAGMA cache_size=-262144")
    for sql in job["schema"]:
        out.execute(sql)
    projectors = job["projectors"]
    for p in projectors:
        # one that reads the journal's own events as it folds (the KPI flow: the versions of the standards)
        # is given the journal: its scratch connection has only the tables it writes
        if hasattr(p, "rebuild_journal"):
            p.rebuild_journal(src)
    out.execute("BEGIN")
    for p in projectors:
        p.rebuild_begin(out)
    for chunk in read_chunks(src, job["order"], job.get("chunk", 20000), types=job["types"], hashes=False):
        for p in projectors:
            p.rebuild_feed(out, chunk)
    for p in projectors:
        p.rebuild_end(out)
    out.execute("COMMIT")
    if job.get("compare"):
        have = {r[0] for r in src.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
        checks = [tablecheck.compare(t, out, "main", src if t in have else None)
                  for p in projectors for t in p.tables]
        Path(job["compare"]).write_bytes(pickle.dumps(checks, protocol=pickle.HIGHEST_PROTOCOL))
    src.execute("COMMIT")
    out.close()
    src.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
