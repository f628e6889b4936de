"""Versioned standards: proposing, approving and recording changes to routes, stages, tolerances and QC plans.

A change to routes.toml or qc.toml is proposed as a new file (validated against the rest of the
site first, every problem as file:line, nothing recorded on a bad one), with why and the corrective
actions that asked for it; an admin other than the proposer approves it, and only then is it
written into the site's config folder. Version 1 is the documents as they stood when the first
change was proposed (recorded then, as `standards.adopted`).

Every new job records the version in effect (`standards` in its job.created); a running job keeps
the tolerances and QC plans of its version (`site_for`) unless a supervisor moves it on purpose
(`standards.moved`). The report compares first-time-right, metal loss, QC yield and the defect
Pareto of the jobs under each version with those under the one before (`compare`).

What follows a job's version: each stage's weight-loss tolerance (max_loss_pct) and the QC plan it
is inspected by (checks, tolerances, sampling). Names, routes' steps and prerequisites, benches
and people follow the site's config as it stands.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import tomllib
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from floorkiosk.domain import events as ev
from floorkiosk.domain import standards as dstd
from floorkiosk.domain.config import load_site
from floorkiosk.domain.records import Site
from floorkiosk.domain.state import JobState
from floorkiosk.domain.tomlread import TomlReader
from floorkiosk.errors import ConfigError, NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.store.rows import CANON
from floorkiosk.workshop.shop import Area, Shop

ADOPTED, PROPOSED, APPROVED, MOVED = (dstd.STANDARDS_ADOPTED, dstd.STANDARDS_PROPOSED, dstd.STANDARDS_APPROVED,
                                      dstd.STANDARDS_MOVED)


@dataclass(frozen=True)
class Version:
    number: int
    hash: str
    docs: dict[str, str]  # document name -> its full text
    base: int | None  # the version it was proposed on (None for version 1)
    changed: tuple[str, ...]  # the documents that differ from the base
    why: str
    capa: tuple[str, ...]
    proposed_by: str | None
    proposed_at: str
    approved_by: str | None
    approved_at: str | None

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


# --- reading ---------------------------------------------------------------------------------------

_COLS = "version, hash, docs, base, changed, why, capa, proposed_by, proposed_at, approved_by, approved_at"


def _row(r: tuple) -> Version:
    return Version(r[0], r[1], json.loads(r[2]), r[3], tuple(json.loads(r[4])), r[5] or "", tuple(json.loads(r[6])),
                   r[7], r[8], r[9], r[10])


def versions(shop: Shop) -> list[Version]:
    return [_row(r) for r in shop.journal.query(f"SELECT {_COLS} FROM standards_versions ORDER BY version")]


def version(shop: Shop, number: int | str) -> Version:
    n = _number(number)
    rows = shop.journal.query(f"SELECT {_COLS} FROM standards_versions WHERE version = ?", (n,))
    if not rows:
        known = ", ".join(f"v{v.number}" for v in versions(shop)) or "none recorded yet"
        raise NotFound(f"no standards version {number!r}; versions: {known}")
    return _row(rows[0])


def _number(text: int | str) -> int:
    s = str(text).strip().lower().removeprefix("v")
    if not s.isdigit():
        raise Refused(f"a standards version is a number like 3 or v3, not {text!r}")
    return int(s)


def current(shop: Shop) -> int:
    """The version in effect: the latest approved (version 1 before any change)."""
    return _current(shop.journal.conn)


def _current(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(version) FROM standards_versions WHERE approved_at IS NOT NULL").fetchone()
    return row[0] if row and row[0] else dstd.FIRST


def job_version(shop: Shop, job_id: str) -> int:
    """The version a job runs under (version 1 for a job recorded before versioning began)."""
    rows = shop.journal.query("SELECT version FROM job_standards WHERE job = ?", (job_id,))
    return rows[0][0] if rows else dstd.FIRST


def live_docs(folder: Path) -> dict[str, str]:
    """The versioned documents of a config folder as they are on disk (an absent one is left out)."""
    return {n: (folder / n).read_text(encoding="utf-8") for n in dstd.DOCUMENTS if (folder / n).is_file()}


def docs_of(shop: Shop, number: int) -> dict[str, str]:
    """A version's documents; version 1 before anything was recorded: the config folder's."""
    if number == dstd.FIRST and not versions(shop):
        return live_docs(shop.dir / "config")
    return version(shop, number).docs


# --- the site a job runs under ---------------------------------------------------------------------

# Per open shop: the sites of the versions other than the one it loaded, built so far.
_BUILT: weakref.WeakKeyDictionary[Shop, dict[int, Site]] = weakref.WeakKeyDictionary()
_RAW_KEY = {"routes.toml": "routes", "qc.toml": "qc"}  # where Site.raw keeps each document's parsed TOML


def _is_loaded(shop: Shop, docs: dict[str, str]) -> bool:
    """Whether these documents are those the shop's site was loaded from (compared as parsed TOML, so the
    answer does not depend on what the files on disk say now: another process may have approved since)."""
    return _loaded_from(shop.site, docs)


def _loaded_from(site: Site, docs: dict[str, str]) -> bool:
    for name, key in _RAW_KEY.items():
        want = tomllib.loads(docs[name]) if name in docs else None
        if want != site.raw.get(key):
            return False
    return True


def site_of_docs(site: Site, docs: dict[str, str]) -> Site:
    """The site with a version's documents in place of its own, without a shop (what a rebuild's helper
    process folds the flow KPIs on): `site` itself when they are those it was loaded from, and also when
    they no longer load with the rest of its config (its jobs follow the config until moved on)."""
    if _loaded_from(site, docs):
        return site
    try:
        return compose(site, docs)
    except ConfigError:
        return site


def site_for(shop: Shop, job: JobState | str | None) -> Site:
    """The site as the job's version of the standards has it: that version's stages (their tolerances)
    and QC plans, with everything else (benches, people, settings) as the site's config stands."""
    if job is None:
        return shop.site
    job_id = job.id if isinstance(job, JobState) else job
    return site_of_version(shop, job_version(shop, job_id))


def site_of_version(shop: Shop, number: int) -> Site:
    built = _BUILT.setdefault(shop, {})
    if number in built:
        return built[number]
    rows = shop.journal.query("SELECT docs FROM standards_versions WHERE version = ?", (number,))
    if not rows:
        return shop.site  # nothing recorded: the config as it is
    try:
        return _built(shop, number, json.loads(rows[0][0]))
    except ConfigError as exc:
        raise Refused(f"standards v{number} no longer loads with the site's config ({'; '.join(exc.problems[:3])}): "
                      f"move its jobs on with `floorkiosk standards move JOB… --to {current(shop)} --person P`") from None


def _built(shop: Shop, number: int, docs: dict[str, str]) -> Site:
    """The site of version `number` from its documents, built once per open shop (ConfigError if it no
    longer loads with the rest of the site's config)."""
    built = _BUILT.setdefault(shop, {})
    if number not in built:
        built[number] = shop.site if _is_loaded(shop, docs) else _compose(shop, docs)
    return built[number]


def _projector_site(shop: Shop, number: int, docs: dict[str, str] | None,
                    conn: sqlite3.Connection | None) -> Site | None:
    """What the job projector folds and judges a job of version `number` on (see JobProjector.site_of):
    the documents it saw go by, else those the derived table keeps; None when neither knows the version."""
    got = _BUILT.get(shop, {}).get(number)
    if got is not None:
        return got
    if docs is None and conn is not None:
        docs = recorded_docs(conn, number)
    if docs is None:
        return None
    try:
        return _built(shop, number, docs)
    except ConfigError:
        return shop.site  # a version that no longer loads: its jobs follow the config until moved on


def recorded_docs(conn: sqlite3.Connection, number: int) -> dict[str, str] | None:
    """A version's documents as the journal recorded them (the first event of that number keeps it).

    Read from the events, not the derived table: a rebuild folds a job recorded before versioning
    began (version 1) before it meets version 1's `standards.adopted`, while that table is refilled."""
    rows = conn.execute(f"SELECT payload FROM events WHERE type IN ('{ADOPTED}', '{PROPOSED}') ORDER BY {CANON}")
    for (payload,) in rows:
        p = json.loads(payload)
        if p.get("version") == number:
            return p.get("docs") or {}
    return None


def _wire(shop: Shop) -> None:
    ref = weakref.ref(shop)  # the shop holds its projector: the projector does not hold the shop

    def site_of(number: int, docs: dict[str, str] | None, conn: sqlite3.Connection | None) -> Site | None:
        s = ref()
        return None if s is None else _projector_site(s, number, docs, conn)

    shop.jobs.site_of = site_of


def _compose(shop: Shop, docs: dict[str, str], *, shown: dict[str, str] | None = None) -> Site:
    return compose(shop.site, docs, shown=shown)


def compose(site: Site, docs: dict[str, str], *, shown: dict[str, str] | None = None) -> Site:
    """The live site with these versioned documents in place of its own, validated as one config.

    `shown`: document name -> how a problem in it is named (the proposed file's path, say)."""
    src = site.folder
    with tempfile.TemporaryDirectory(prefix="standards-") as tmp:
        t = Path(tmp)
        for f in src.iterdir():
            if f.is_file() and f.suffix == ".toml" and f.name not in dstd.DOCUMENTS:
                shutil.copy2(f, t / f.name)
        for name, text in docs.items():
            (t / name).write_text(text, encoding="utf-8")
        try:
            loaded = load_site(t)
        except ConfigError as exc:
            names = {str(t / n): (shown or {}).get(n, n) for n in dstd.DOCUMENTS} | {
                str(t / f.name): str(src / f.name) for f in src.iterdir() if f.name not in dstd.DOCUMENTS}
            raise ConfigError([_rename(p, names) for p in exc.problems]) from None
    raw = dict(site.raw) | {"routes": loaded.raw["routes"]}
    raw.pop("qc", None)
    if "qc" in loaded.raw:
        raw["qc"] = loaded.raw["qc"]
    return replace(site, stages=loaded.stages, routes=loaded.routes, raw=raw)


def _rename(problem: str, names: dict[str, str]) -> str:
    for long, short in names.items():
        if problem.startswith(long + ":"):
            return short + problem[len(long):]
    return problem


# --- proposing, approving, moving ------------------------------------------------------------------

@dataclass(frozen=True)
class Proposal:
    version: Version
    adopted: bool  # version 1 was recorded with it


def propose(shop: Shop, file: str | Path, *, why: str, person_id: str | None, capa_ids: Iterable[str] = (),
            document: str | None = None, bench_id: str | None = None) -> Proposal:
    """Propose a new version with `file` in place of one of the versioned documents.

    Refused, recording nothing, for a proposer who is not a supervisor or admin, no reason, an unknown
    corrective action, a file that is not one of the documents, or a config that does not load with
    it (every problem as file:line); a file identical to the version in effect is no change."""
    person = shop.supervisor(person_id, "proposes a change to the standards")
    why = " ".join(why.split())
    if not why:
        raise Refused("say why the standard changes (--why): the journal keeps it with the version")
    capas = _capas(shop, capa_ids)
    path = Path(file)
    config = (shop.dir / "config").resolve()
    if path.resolve().parent == config:
        # the config folder holds the version in effect: an edit made there is in effect unapproved
        raise Refused(f"{path} is the site's own config, the version in effect: propose an edited copy kept "
                      f"elsewhere (and leave config/ as it is); nothing was recorded")
    problems: list[str] = []
    reader = TomlReader(path, problems)
    if problems:
        raise ConfigError(problems)
    name = document or dstd.which_document(path.name, set(reader.data))
    if name not in dstd.DOCUMENTS:
        raise Refused(f"{path} is not one of the standards ({', '.join(dstd.DOCUMENTS)}): name it so, or say which "
                      "with --as routes.toml|qc.toml")
    base = current(shop)
    base_docs = docs_of(shop, base)
    new_docs = dict(base_docs) | {name: path.read_text(encoding="utf-8")}
    # ConfigError (file:line) and nothing recorded; the other document is named with its version
    _compose(shop, new_docs, shown={n: f"{n} of v{base}" for n in dstd.DOCUMENTS} | {name: str(path)})
    if new_docs == base_docs:
        raise Refused(f"{path} is the same as {name} of v{base} in effect: nothing to propose")
    new_hash = dstd.content_hash(new_docs)
    adopt = not versions(shop)

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        out = []
        top = conn.execute("SELECT max(version) FROM standards_versions").fetchone()[0] or 0
        if adopt and top == 0:
            out.append(shop.event(ADOPTED, None, person.id, bench_id,
                                  {"version": dstd.FIRST, "hash": dstd.content_hash(base_docs), "docs": base_docs}))
            top = dstd.FIRST
        if _current(conn) != base:
            raise Refused("the standards changed while this was being proposed; propose it again")
        payload = {"version": top + 1, "hash": new_hash, "base": base, "docs": new_docs,
                   "changed": dstd.changed(base_docs, new_docs), "why": why}
        if capas:
            payload["capa"] = capas
        out.append(shop.event(PROPOSED, None, person.id, bench_id, payload))
        return out

    written = shop.journal.append_many(build=build)
    return Proposal(version(shop, written[-1].payload["version"]), len(written) > 1)


def _capas(shop: Shop, ids: Iterable[str]) -> list[str]:
    # imported here, not above: capa imports spc, which a site without corrective actions never needs here
    from floorkiosk.workshop import capa

    return sorted({capa.get(shop, c).id for c in ids if c.strip()})


def approve(shop: Shop, number: int | str, *, person_id: str | None, bench_id: str | None = None) -> Version:
    """An admin other than its proposer approves a proposed version: recorded, then written into config/."""
    admin = shop.admin(person_id, "approves a change to the standards")
    v = version(shop, number)
    if v.approved:
        raise Refused(f"v{v.number} was approved already ({shop.name(v.approved_by)}, {v.approved_at[:10]})")
    if v.proposed_by == admin.id:
        raise Refused(f"{admin.name} proposed v{v.number}: another admin must approve it (four eyes); "
                      "nothing was recorded")
    now = current(shop)
    if v.base != now:
        raise Refused(f"v{v.number} was proposed on v{v.base}, but v{now} is in effect now: propose the change "
                      f"again on v{now} (`floorkiosk standards diff {v.base} {now}` shows what changed since)")
    try:
        _compose(shop, v.docs)  # the rest of the site may have changed since it was proposed
    except ConfigError as exc:
        raise Refused(f"v{v.number} no longer loads with the site's config: {'; '.join(exc.problems[:3])}") from None

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        if _current(conn) != now:
            raise Refused("the standards changed while this was being approved; look again (`standards log`)")
        return [shop.event(APPROVED, None, admin.id, bench_id, {"version": v.number, "hash": v.hash})]

    shop.journal.append_many(build=build)
    write_config(shop, v)
    return version(shop, v.number)


def write_config(shop: Shop, v: Version) -> None:
    """Write a version's documents into the site's config folder, each replaced whole (a reader sees
    the old file or the new one, never half of each)."""
    folder = shop.dir / "config"
    for name in dstd.DOCUMENTS:
        target = folder / name
        if name not in v.docs:
            if target.exists():
                target.unlink()
            continue
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(v.docs[name])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)


def move(shop: Shop, job_ids: Iterable[str], *, to: int | str, person_id: str | None, why: str,
         bench_id: str | None = None) -> list[str]:
    """Move running jobs, on purpose, to another approved version; the jobs moved (already there: left out)."""
    person = shop.supervisor(person_id, "moves a job to another version of the standards")
    why = " ".join(why.split())
    if not why:
        raise Refused("say why the jobs move to another version (--why)")
    target = version(shop, to) if versions(shop) else None
    n = target.number if target else _number(to)
    if target is None and n != dstd.FIRST or target is not None and not target.approved:
        raise Refused(f"v{n} is not approved: a job runs only under an approved version")
    jobs = []
    for j in job_ids:
        state = shop.job(j)
        if state.complete:
            raise Refused(f"{state.id} is complete: it stays under the version it was made under")
        jobs.append(state.id)
    if not jobs:
        raise Refused("name the jobs to move (J000123 …)")
    if n != dstd.FIRST or target is not None:
        site_of_version(shop, n)  # refused here if that version no longer loads

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        out = []
        for j in jobs:
            row = conn.execute("SELECT version FROM job_standards WHERE job = ?", (j,)).fetchone()
            was = row[0] if row else dstd.FIRST
            if was != n:
                out.append(shop.event(MOVED, j, person.id, bench_id, {"from": was, "to": n, "why": why}))
        return out

    return [e.job for e in shop.journal.append_many(build=build) if e.job]


def created_payload(conn: sqlite3.Connection) -> dict[str, int]:
    """What a new job's job.created records of the standards (inside its write transaction)."""
    return {"standards": _current(conn)}


def config_drift(shop: Shop) -> list[str]:
    """The versioned documents on disk that differ from the version in effect (edited by hand)."""
    if not versions(shop):
        return []
    want = version(shop, current(shop)).docs
    have = live_docs(shop.dir / "config")
    return dstd.changed(want, have)


# --- before and after each change ------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """The KPIs of the jobs under one version."""

    version: int
    jobs: int
    completed: int
    first_time_right: int  # completed jobs none of whose stages went back for rework
    loss_g: float
    weighed_in_g: float
    inspections: int
    passed: int
    defects: tuple[tuple[str, int], ...]  # the defect Pareto: code, count (most first)

    @property
    def ftr_pct(self) -> float | None:
        return 100.0 * self.first_time_right / self.completed if self.completed else None

    @property
    def loss_pct(self) -> float | None:
        return 100.0 * self.loss_g / self.weighed_in_g if self.weighed_in_g else None

    @property
    def yield_pct(self) -> float | None:
        return 100.0 * self.passed / self.inspections if self.inspections else None

    def per_100(self, code: str) -> float | None:
        n = dict(self.defects).get(code, 0)
        return 100.0 * n / self.inspections if self.inspections else None


@dataclass(frozen=True)
class Comparison:
    change: Version  # the approved version; compared with its base
    before: Profile
    after: Profile


def profile(shop: Shop, number: int) -> Profile:
    # jobs with no row were recorded before versioning began: version 1
    which = "s.version IS NULL OR s.version = ?" if number == dstd.FIRST else "s.version = ?"
    t = f"WITH t(job) AS (SELECT j.id FROM jobs j LEFT JOIN job_standards s ON s.job = j.id WHERE {which}) "
    q = shop.journal.query
    jobs, completed = q(t + "SELECT count(*), coalesce(sum(j.status = 'complete'), 0) FROM jobs j"
                            " JOIN t ON t.job = j.id", (number,))[0]
    ftr = q(t + "SELECT count(*) FROM jobs j JOIN t ON t.job = j.id WHERE j.status = 'complete'"
                " AND NOT EXISTS (SELECT 1 FROM job_stages s WHERE s.job = j.id AND s.reworks > 0)", (number,))[0][0]
    loss, weighed = q(t + "SELECT coalesce(sum(weight_in - weight_out), 0), coalesce(sum(weight_in), 0)"
                          " FROM job_stages s JOIN t ON t.job = s.job"
                          " WHERE weight_in IS NOT NULL AND weight_out IS NOT NULL", (number,))[0]
    inspections, passed = q(t + "SELECT count(*), coalesce(sum(result = 'pass'), 0) FROM qc_inspections q"
                                " JOIN t ON t.job = q.job", (number,))[0]
    defects = Counter(d for (d,) in q(t + "SELECT defect FROM qc_defects q JOIN t ON t.job = q.job", (number,)))
    return Profile(number, jobs, completed, ftr, float(loss), float(weighed), inspections, passed,
                   tuple(sorted(defects.items(), key=lambda kv: (-kv[1], kv[0]))))


def compare(shop: Shop) -> list[Comparison]:
    """For each approved change, the KPIs and defect profile of the jobs under it and under its base."""
    out = []
    cache: dict[int, Profile] = {}
    for v in versions(shop):
        if v.base is None or not v.approved:
            continue
        for n in (v.base, v.number):
            if n not in cache:
                cache[n] = profile(shop, n)
        out.append(Comparison(v, cache[v.base], cache[v.number]))
    return out


# --- the derived tables ----------------------------------------------------------------------------

def _m001(db) -> None:  # sqlite_utils.Database
    db.execute("""CREATE TABLE standards_versions (
        version INTEGER PRIMARY KEY, hash TEXT NOT NULL, docs TEXT NOT NULL, base INTEGER, changed TEXT NOT NULL,
        why TEXT, capa TEXT NOT NULL, proposed_by TEXT, proposed_at TEXT NOT NULL, approved_by TEXT,
        approved_at TEXT)""")
    db.execute("CREATE TABLE job_standards (job TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("CREATE INDEX job_standards_version ON job_standards (version)")


def _m002(db) -> None:  # sqlite_utils.Database
    # The versions' own events, read when a job's version is folded, without reading the journal: an
    # index of just those events, which costs the other appends nothing (the journal has no index by type)
    db.execute(f"CREATE INDEX IF NOT EXISTS events_standards ON events (seq) WHERE type IN ('{ADOPTED}', '{PROPOSED}')")


class StandardsProjector(ChunkedRebuild):
    tables = ("standards_versions", "job_standards")
    rebuild_apart = True
    rebuild_types = frozenset({ADOPTED, PROPOSED, APPROVED, MOVED, ev.JOB_CREATED})
    rebuild_weight = 0

    def __init__(self, site: Site) -> None:
        self.site = site

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        for e in events:
            p = e.payload
            if e.type == ev.JOB_CREATED:
                if "standards" in p and e.job:
                    conn.execute("INSERT OR REPLACE INTO job_standards (job, version) VALUES (?, ?)",
                                 (e.job, p["standards"]))
            elif e.type == MOVED:
                if e.job:
                    conn.execute("INSERT OR REPLACE INTO job_standards (job, version) VALUES (?, ?)", (e.job, p["to"]))
            elif e.type in (ADOPTED, PROPOSED):
                adopted = e.type == ADOPTED
                # INSERT OR IGNORE: on a hub site two benches may propose the same number before either
                # hears of the other; the first in the journal's order keeps it (the other is left out,
                # and its proposer proposes again), and an approval names the hash it approved
                conn.execute("INSERT OR IGNORE INTO standards_versions (version, hash, docs, base, changed, why, capa,"
                             " proposed_by, proposed_at, approved_by, approved_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                             (p["version"], p["hash"], json.dumps(p["docs"], ensure_ascii=False, sort_keys=True),
                              p.get("base"), json.dumps(p.get("changed", [])),
                              "the standards as they stood when versioning began" if adopted else p.get("why", ""),
                              json.dumps(p.get("capa", [])), e.person, e.ts,
                              e.person if adopted else None, e.ts if adopted else None))
            elif e.type == APPROVED:
                conn.execute("UPDATE standards_versions SET approved_by = ?, approved_at = ? WHERE version = ?"
                             " AND hash = ? AND approved_at IS NULL", (e.person, e.ts, p["version"], p["hash"]))

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, [e for e in events if e.type in self.rebuild_types])

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass


def describe(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    who = shop.name(e.person) or "someone"
    if e.type == ADOPTED:
        return f"standards v{p['version']} recorded as they stood when versioning began ({p['hash'][:12]})"
    if e.type == PROPOSED:
        capa = f" (corrective action {', '.join(p['capa'])})" if p.get("capa") else ""
        return f"{who} proposed standards v{p['version']}: {', '.join(p.get('changed', []))}: {p['why']}{capa}"
    if e.type == APPROVED:
        return f"{who} approved standards v{p['version']}: in effect for new jobs"
    return f"{who} moved {e.job} from standards v{p['from']} to v{p['to']}: {p['why']}"


AREA = Area("standards", projectors=lambda site: [StandardsProjector(site)], migrations=(("standards_001", _m001), ("standards_002_version_events", _m002)),
            describers=dict.fromkeys((ADOPTED, PROPOSED, APPROVED, MOVED), describe), wire=_wire)
