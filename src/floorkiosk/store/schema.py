"""Named migrations of the embedded store, applied in order at start-up."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils  # the migrations' type; the library is loaded only to migrate


def _m001_journal(db: sqlite_utils.Database) -> None:
    db["events"].create({
        "seq": int, "id": str, "origin": str, "origin_seq": int, "type": str, "job": str, "person": str,
        "bench": str, "ts": str, "payload": str, "prev_hash": str, "hash": str,
    }, pk="seq", not_null={"id", "origin", "origin_seq", "type", "ts", "payload", "prev_hash", "hash"})
    db["events"].create_index(["id"], unique=True)
    db["events"].create_index(["origin", "origin_seq"], unique=True)
    db["events"].create_index(["job", "seq"])
    db["events"].create_index(["type", "seq"])


def _m002_jobs(db: sqlite_utils.Database) -> None:
    db["jobs"].create({
        "id": str, "route": str, "design": str, "client": str, "alloy": str, "due": str, "priority": str,
        "batch": str, "status": str, "on_hold": int, "hold_reason": str, "holder": str, "bench": str,
        "current": str, "last_weight": float, "created_at": str, "updated_at": str, "completed_at": str,
        "state": str,
    }, pk="id")
    db["jobs"].create_index(["status", "due"])
    db["jobs"].create_index(["batch"])
    db.execute("""CREATE TABLE job_stages (
        job TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, ready INTEGER NOT NULL,
        started_by TEXT, started_at TEXT, finished_by TEXT, finished_at TEXT, verified_by TEXT,
        verified_at TEXT, weight_in REAL, weight_out REAL, runs INTEGER, reworks INTEGER,
        PRIMARY KEY (job, stage)) WITHOUT ROWID""")
    db["job_stages"].create_index(["stage", "ready"])
    db.execute("""CREATE TABLE photos (
        job TEXT NOT NULL, sha256 TEXT NOT NULL, stage TEXT, ts TEXT, person TEXT, bench TEXT,
        PRIMARY KEY (job, sha256)) WITHOUT ROWID""")
    db["batches"].create({"id": str, "design": str, "jobs": str, "created_at": str}, pk="id")


def _m004_stage_status(db: sqlite_utils.Database) -> None:
    # the worklist's "in progress by me" and "waiting for verification" reads
    db.execute("CREATE INDEX IF NOT EXISTS job_stages_stage_status ON job_stages (stage, status)")


def _m005_no_type_index(db: sqlite_utils.Database) -> None:
    # Nothing reads events by type through an index, and every append paid for keeping it.
    db.execute("DROP INDEX IF EXISTS idx_events_type_seq")


def _m006_partial_stage_indexes(db: sqlite_utils.Database) -> None:
    # The worklist asks for the few stage rows that are ready, in progress or waiting for
    # verification; indexes of just those rows answer it, and every append paid for two indexes of
    # every stage row of every job.
    db.execute('DROP INDEX IF EXISTS "idx_job_stages_stage_ready"')
    db.execute("DROP INDEX IF EXISTS job_stages_stage_status")
    db.execute("CREATE INDEX job_stages_ready ON job_stages (stage) WHERE ready = 1")
    db.execute("CREATE INDEX job_stages_busy ON job_stages (stage, started_by) WHERE status = 'in progress'")
    db.execute("CREATE INDEX job_stages_done ON job_stages (stage) WHERE status = 'done'")


def _m007_batch_closed(db: sqlite_utils.Database) -> None:
    # a batch is open until closed: only an open batch takes more job bags, and a job is in one open batch
    db.execute("ALTER TABLE batches ADD COLUMN closed_at TEXT")
    db.execute("ALTER TABLE batches ADD COLUMN closed_by TEXT")
    db.execute("ALTER TABLE batches ADD COLUMN created_by TEXT")


def _m008_held_jobs(db: sqlite_utils.Database) -> None:
    # A supervisor's worklist asks for the jobs on hold: an index of just those rows answers it (a scan of
    # the jobs table reads every job's state).
    db.execute("CREATE INDEX IF NOT EXISTS jobs_on_hold ON jobs (id) WHERE on_hold = 1")


# A named migration: applied once per database, in order, each in its own transaction. A migration that
# makes derived tables anew returns their names: the journal derives them again from the events.
Migration = tuple[str, Callable[["sqlite_utils.Database"], "Iterable[str] | None"]]

MIGRATIONS: list[Migration] = [
    ("001_journal", _m001_journal),
    ("002_jobs", _m002_jobs),
    ("004_stage_status", _m004_stage_status),
    ("005_no_type_index", _m005_no_type_index),
    ("006_partial_stage_indexes", _m006_partial_stage_indexes),
    ("007_batch_closed", _m007_batch_closed),
    ("008_held_jobs", _m008_held_jobs),
]


def migrate(conn: sqlite3.Connection, extra: Iterable[Migration] = (), refill: set[str] | None = None) -> list[str]:
    """Apply the migrations not yet applied; return their names. The derived tables a migration says
    it made anew (its return value) are added to `refill`, for the caller to derive them again.

    sqlite-utils (which loads numpy, a third of a second) is imported only when one is pending: a
    site opened as it was left, by every CLI call and kiosk start, reads one table and goes on.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {r[0] for r in conn.execute("SELECT name FROM migrations").fetchall()}
    pending = [(name, fn) for name, fn in [*MIGRATIONS, *extra] if name not in done]
    if not pending:
        return []
    import sqlite_utils  # only now: see above

    db = sqlite_utils.Database(conn)
    applied = []
    for name, fn in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            made = fn(db)
            if made and refill is not None:
                refill.update(made)
            conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, datetime('now'))", (name,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
