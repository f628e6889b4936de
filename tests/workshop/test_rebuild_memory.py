"""A rebuild, and the audit's fold of the journal, hold the jobs at work, not the years of history.

The journal here is a shop's history with jobs overlapping in time (events of many jobs interleaved,
as benches record them), some of them left open for good; it is folded in small chunks so that
every job is written, forgotten and read back many times over. The result must be the very state
the appends derived, and Python's memory during the fold must not grow with the number of jobs.
"""

from __future__ import annotations

import random
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest

from floorkiosk.domain import events as ev
from floorkiosk.store import journal as journal_mod
from floorkiosk.store import tablecheck
from floorkiosk.workshop.site import init_site, open_shop

DOER = {"design": "dev", "casting": "ana", "cleanup": "ana", "fabrication": "ana", "setting": "ben",
        "polishing": "chloe", "plating": "chloe", "qc": "eva", "dispatch": "dev"}


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


OPEN = 60  # the last jobs of a history, some of which stay at work (half-way, or rejected)


def history(site, jobs: int, seed: int = 7) -> list[ev.Event]:
    """Jobs created an hour apart, each following its route with a few hours between steps; of the
    last OPEN, some rejected and left, some stopping half-way (still at work when the history ends),
    so that a longer history has more finished jobs, not more open ones; all events in the order of
    their times."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    bench_of = {s: b.id for b in site.benches.values() for s in b.stages}
    routes = sorted(site.routes)
    out = []
    for i in range(jobs):
        jid = f"J{i + 1:05d}"
        route = site.routes[rng.choice(routes)]
        t = start + timedelta(hours=i, milliseconds=rng.randint(0, 999))
        out.append(ev.Event(ev.JOB_CREATED, jid, "dev", "design",
                            {"route": route.id, "design": rng.choice(["Halo ring", "Signet ring", "Bezel pendant"]),
                             "alloy": rng.choice(sorted(site.alloys)), "due": (t + timedelta(days=20)).date().isoformat(),
                             "client": f"Client {i % 17}", "priority": "normal"}, ts=_ts(t)))
        late = i >= jobs - OPEN  # the jobs still at work when the history ends: as many in any history
        stop = len(route.steps) if not late or rng.random() < 0.3 else rng.randint(1, len(route.steps))
        grams = 5.0 + rng.random() * 5
        for step in route.steps[:stop]:
            stage = site.stages[step.stage]
            who, bench = DOER[stage.skill], bench_of[step.stage]

            def add(type_, payload, person=who, b=bench):
                nonlocal t
                t += timedelta(minutes=rng.randint(20, 400), milliseconds=rng.randint(0, 999))
                out.append(ev.Event(type_, jid, person, b, {"stage": step.stage, **payload}, ts=_ts(t)))

            add(ev.STAGE_STARTED, {})
            if stage.needs("weigh-in"):
                add(ev.WEIGHT_RECORDED, {"phase": "in", "grams": f"{grams:.3f}", "raw": "", "unit": "g"})
            if stage.needs("weigh-out"):
                grams *= 1 - rng.random() * 0.004
                add(ev.WEIGHT_RECORDED, {"phase": "out", "grams": f"{grams:.3f}", "raw": "", "unit": "g"})
            for n in range(stage.photos_needed):
                add(ev.PHOTO_ATTACHED, {"sha256": f"{i:032x}{n:032x}"})
            add(ev.STAGE_FINISHED, {"checklist": list(stage.checklist)})
            if stage.verify:
                if late and rng.random() < 0.3:
                    add(ev.STAGE_REJECTED, {"defect": "LOOSE-STONE", "reason": "stone moves", "redo": step.stage},
                        "eva", "qc")
                    break
                add(ev.STAGE_VERIFIED, {}, "eva", "qc")
    out.sort(key=lambda e: e.ts)
    return out


def make_shop(path, jobs: int):
    init_site(path, origin="test-bench")
    shop = open_shop(path)
    events = history(shop.site, jobs)
    for i in range(0, len(events), 500):
        shop.journal.append_many(events[i:i + 500])
    return shop


@pytest.fixture(scope="module")
def two_sizes(tmp_path_factory):
    base = tmp_path_factory.mktemp("rebuild-memory")
    small, large = make_shop(base / "small", 150), make_shop(base / "large", 600)
    yield small, large
    small.close()
    large.close()


def folded_peak(shop, fold) -> int:
    """Python's peak allocation (bytes) while `fold` runs on the shop's journal."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fold(shop.journal)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fold", [lambda j: j.rebuild(apart=False), lambda j: j.check_derived()],
                         ids=["rebuild", "audit-fold"])
def test_memory_of_a_fold_does_not_grow_with_the_jobs_in_the_journal(two_sizes, monkeypatch, fold):
    small, large = two_sizes
    assert large.journal.count() > 3.5 * small.journal.count()
    monkeypatch.setattr(journal_mod, "REBUILD_CHUNK", 400, raising=False)
    monkeypatch.setattr(tablecheck, "CHUNK", 100)  # the rows of each side compared at a time
    # measured warm: a first fold of each fills what a process fills once (imports, caches of the
    # config, of each version of the standards, interned strings), which is not the history's memory
    for shop in (small, large):
        folded_peak(shop, fold)
    peaks = [min(folded_peak(shop, fold) for _ in range(2)) for shop in (small, large)]
    # four times the history (the same jobs at work at its end) for at most a third more memory
    assert peaks[1] < 1.33 * peaks[0], f"peak {peaks[0] / 1e6:.1f} MB with 150 jobs, {peaks[1] / 1e6:.1f} MB with 600"


@pytest.mark.parametrize("chunk", [1, 97, 20_000])
def test_folded_in_chunks_of_any_size_the_state_is_the_one_the_appends_derived(two_sizes, monkeypatch, chunk):
    shop, _ = two_sizes
    j = shop.journal
    before = j.state_digest()
    monkeypatch.setattr(journal_mod, "REBUILD_CHUNK", chunk, raising=False)
    check = j.check_derived()
    assert not check.differing and not check.refused and not check.unreadable
    if chunk >= 97:  # a helper process folding one event at a time is merely slow
        j.rebuild(apart=True)
        assert j.state_digest() == before
    j.rebuild(apart=False)
    assert j.state_digest() == before


def _fed(j) -> list:
    return [p for p in j.projectors if hasattr(p, "rebuild_feed")]


def test_the_helper_process_checks_the_tables_it_folds_as_this_process_does(two_sizes):
    shop, _ = two_sizes
    j = shop.journal
    before = j.state_digest()
    away = {t for p in journal_mod._helper_share(_fed(j), audit=True) for t in p.tables}
    assert "kpi_jobs" in away and "jobs" not in away
    here, apart = j.check_derived(apart=False), j.check_derived(apart=True)
    assert not apart.differing and not apart.refused and apart.tables == here.tables
    # an edited row of a table the helper folds: named, with its first differing row, either way
    job = j.query("SELECT min(job) FROM kpi_jobs")[0][0]
    with j.lock:
        j.conn.execute("UPDATE kpi_jobs SET reworks = 99 WHERE job = ?", (job,))
    try:
        here, apart = j.check_derived(apart=False), j.check_derived(apart=True)
        assert [t.table for t in apart.differing] == ["kpi_jobs"] and apart.tables == here.tables
        (t,) = apart.differing
        assert t.stored_row[0] == t.folded_row[0] == job and 99 in t.stored_row and 99 not in t.folded_row
        assert "kpi_jobs differs from the journal" in str(t)
    finally:
        j.rebuild(apart=False)
    assert j.state_digest() == before
    assert not j.check_derived(apart=True).differing


def test_a_helper_that_fails_leaves_the_check_to_this_process(two_sizes, monkeypatch):
    shop, _ = two_sizes
    j = shop.journal
    with j.lock:
        j.conn.execute("UPDATE kpi_jobs SET reworks = 99 WHERE job = (SELECT min(job) FROM kpi_jobs)")
    try:
        from floorkiosk.store import apart  # the module whose helper is made to fail

        monkeypatch.setattr(apart.Helper, "checks", lambda self, timeout=None: (None, "made to fail"))
        check = j.check_derived(apart=True)
        assert [t.table for t in check.differing] == ["kpi_jobs"]
    finally:
        j.rebuild(apart=False)
