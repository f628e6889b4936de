"""The job tables derived from the journal: where each job is, its stages, photos and batches."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Protocol

from floorkiosk.domain import events as ev
from floorkiosk.domain.config import Site
from floorkiosk.domain.state import IN_PROGRESS, REWORK, TODO, JobState, apply, prerequisites_met


class Projector(Protocol):
    """Keeps some derived tables in step with the journal, inside the appending transaction."""

    tables: tuple[str, ...]

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None: ...

    def rebuild(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None: ...


class JobProjector:
    tables = ("jobs", "job_stages", "photos", "batches")

    def __init__(self, site: Site) -> None:
        self.site = site
        self.routes = site.routes
        self.needs_verify = {s.id: s.verify for s in site.stages.values()}

    # -- folding ---------------------------------------------------------------------------------
    def fold(self, state: JobState | None, e: ev.Event) -> JobState:
        return apply(state, e, self.routes, self.needs_verify)

    def load(self, conn: sqlite3.Connection, job_id: str) -> JobState | None:
        row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return JobState.from_dict(json.loads(row[0])) if row else None

    # -- writing ---------------------------------------------------------------------------------
    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        states: dict[str, JobState | None] = {}
        for e in events:
            if e.type == ev.BATCH_CREATED and e.job is None:
                self._batch(conn, e)
                continue
            if not e.job:
                continue
            if e.job not in states:
                states[e.job] = self.load(conn, e.job)
            if states[e.job] is None and e.type != ev.JOB_CREATED:
                continue  # an event for a job this store does not know: nothing to derive
            states[e.job] = self.fold(states[e.job], e)
            if e.type == ev.PHOTO_ATTACHED:
                self._photo(conn, e)
        for state in states.values():
            if state is not None:
                self.write(conn, state)

    def _batch(self, conn: sqlite3.Connection, e: ev.Event) -> None:
        conn.execute("INSERT OR REPLACE INTO batches (id, design, jobs, created_at) VALUES (?, ?, ?, ?)",
                     (e.payload["batch"], e.payload.get("design", ""), json.dumps(e.payload.get("jobs", [])), e.ts))

    def _photo(self, conn: sqlite3.Connection, e: ev.Event) -> None:
        conn.execute("INSERT OR IGNORE INTO photos (job, sha256, stage, ts, person, bench) VALUES (?, ?, ?, ?, ?, ?)",
                     (e.job, e.payload["sha256"], e.payload.get("stage"), e.ts, e.person, e.bench))

    def rows(self, s: JobState) -> tuple[tuple, list[tuple]]:
        route = self.routes.get(s.route)
        current = ", ".join(s.in_progress())
        job_row = (s.id, s.route, s.design, s.client, s.alloy, s.due, s.priority, s.batch,
                   "complete" if s.complete else "open", 1 if s.hold else 0, s.hold.reason if s.hold else None,
                   s.holder, s.bench, current, float(s.last_weight) if s.last_weight else None,
                   s.created_at, s.updated_at, s.completed_at,
                   json.dumps(s.to_dict(), separators=(",", ":"), ensure_ascii=False, sort_keys=True))
        stage_rows = []
        for sid, st in s.stages.items():
            ready = int(route is not None and st.status in (TODO, REWORK)
                        and prerequisites_met(s, route, sid, self.needs_verify))
            stage_rows.append((s.id, sid, st.status, ready, st.started_by, st.started_at, st.finished_by,
                               st.finished_at, st.verified_by, st.verified_at,
                               float(st.weight_in) if st.weight_in else None,
                               float(st.weight_out) if st.weight_out else None, st.runs, st.reworks))
        return job_row, stage_rows

    _JOB_SQL = ("INSERT OR REPLACE INTO jobs (id, route, design, client, alloy, due, priority, batch, status, on_hold,"
                " hold_reason, holder, bench, current, last_weight, created_at, updated_at, completed_at, state)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    _STAGE_SQL = ("INSERT OR REPLACE INTO job_stages (job, stage, status, ready, started_by, started_at, finished_by,"
                  " finished_at, verified_by, verified_at, weight_in, weight_out, runs, reworks)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

    def write(self, conn: sqlite3.Connection, s: JobState) -> None:
        job_row, stage_rows = self.rows(s)
        conn.execute(self._JOB_SQL, job_row)
        conn.executemany(self._STAGE_SQL, stage_rows)

    def rebuild(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        for t in self.tables:
            conn.execute(f"DELETE FROM {t}")
        states: dict[str, JobState] = {}
        photos = []
        for e in events:
            if e.type == ev.BATCH_CREATED and e.job is None:
                self._batch(conn, e)
                continue
            if not e.job:
                continue
            prev = states.get(e.job)
            if prev is None and e.type != ev.JOB_CREATED:
                continue
            states[e.job] = self.fold(prev, e)
            if e.type == ev.PHOTO_ATTACHED:
                photos.append((e.job, e.payload["sha256"], e.payload.get("stage"), e.ts, e.person, e.bench))
        job_rows, stage_rows = [], []
        for s in states.values():
            j, st = self.rows(s)
            job_rows.append(j)
            stage_rows.extend(st)
        conn.executemany(self._JOB_SQL, job_rows)
        conn.executemany(self._STAGE_SQL, stage_rows)
        conn.executemany("INSERT OR IGNORE INTO photos (job, sha256, stage, ts, person, bench) VALUES (?, ?, ?, ?, ?, ?)", photos)
