"""The hub trusts no bench, and no bench trusts the hub: forged events, origins, locks, rights, a
restored journal. Against a real PostgreSQL, with the bench roles `hub init` makes."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import tomllib

import psycopg
import pytest
from hubkit import hub_config, replay_from_hub

from floorkiosk.domain import events as ev
from floorkiosk.store import hub
from floorkiosk.workshop import sync as hubsync
from floorkiosk.workshop import verbs

pytestmark = pytest.mark.pg

RING = dict(route="custom-ring", design="Pear halo ring", alloy="18KY", due="2026-12-24")
CONSULTED = ["ring size confirmed", "budget agreed"]


def _bench_conn(pg_hub, bench: str) -> psycopg.Connection:
    cred = tomllib.loads((pg_hub.creds / f"{bench}.toml").read_text())
    return hub.connect(hub.HubAddress(pg_hub.dsn, cred["user"], cred["password"], bench), origin="trust-test")


def wait_for(cond, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _event(origin: str, n: int, prev: str, **kw) -> ev.Event:
    base = dict(type=ev.LABEL_REPRINTED, job="J000001", person="ben", bench="setting", payload={"reason": "torn"})
    base.update(kw)
    return ev.Event(**base).chained(origin, n, prev)


# -- 9: the hub takes events only through push_events, which checks them ----------------------------

def test_a_bench_cannot_write_the_events_table_directly(pg_hub):
    hub.register_origin(pg_hub.admin, "kiosk-a", "setting")
    a = _bench_conn(pg_hub, "setting")
    try:
        hub.register(a, "kiosk-a", "setting")  # its own origin
        e = _event("kiosk-a", 1, ev.GENESIS)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("INSERT INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash,"
                      " hash) VALUES (%s, 'kiosk-a', 1, %s, %s, %s, %s, %s, %s, %s, %s)",
                      (e.id, e.type, e.job, e.person, e.bench, e.ts, e.payload_json(), e.prev_hash, "f" * 64))
        assert pg_hub.query("SELECT count(*) FROM events")[0][0] == 0
    finally:
        a.close()


def test_the_hub_refuses_a_bogus_hash_a_broken_chain_and_a_payload_that_is_not_json(pg_hub):
    hub.register_origin(pg_hub.admin, "kiosk-a", "setting")
    a = _bench_conn(pg_hub, "setting")
    try:
        e1 = _event("kiosk-a", 1, ev.GENESIS)
        bogus = ev.Event.stored(None, e1.id, e1.origin, 1, e1.type, e1.job, e1.person, e1.bench, e1.ts,
                                e1.payload_json(), e1.prev_hash, "ab" * 32)
        with pytest.raises(hub.HubError, match="hash that does not match its contents"):
            hub.push(a, "kiosk-a", [bogus], pg_hub.schema)
        # the same event with its payload changed after it was chained
        edited = ev.Event.stored(None, e1.id, e1.origin, 1, e1.type, e1.job, e1.person, e1.bench, e1.ts,
                                 '{"reason":"not torn"}', e1.prev_hash, e1.hash)
        with pytest.raises(hub.HubError, match="hash that does not match"):
            hub.push(a, "kiosk-a", [edited], pg_hub.schema)
        assert hub.push(a, "kiosk-a", [e1], pg_hub.schema) == 1
        # chained to something else than the hub's last event of this origin
        stray = _event("kiosk-a", 2, "cd" * 32)
        with pytest.raises(hub.HubError, match="does not chain to the event before it"):
            hub.push(a, "kiosk-a", [stray], pg_hub.schema)
        for text in ("not json", "[1]", ""):
            x = ev.Event(ev.LABEL_REPRINTED, None, None, None).chained("kiosk-a", 2, e1.hash)
            x.__dict__["_pj"] = text  # the payload as the bench sends it, hashed as sent
            x.__dict__["hash"] = x.compute_hash()
            with pytest.raises(hub.HubError, match="not a JSON object"):
                hub.push(a, "kiosk-a", [x], pg_hub.schema)
        assert pg_hub.query("SELECT count(*) FROM events")[0][0] == 1
    finally:
        a.close()


def test_the_hub_computes_the_same_hash_as_the_bench_for_awkward_text(pg_hub):
    hub.register_origin(pg_hub.admin, "kiosk-a", "setting")
    a = _bench_conn(pg_hub, "setting")
    try:
        texts = ['quote " and \\ backslash', "tab\tnew\nline\rcr\x01\x1f\x7f", "Chloé — ✓ 𝄞 中文", "\u2028\u2029",
                 "</script>", ""]
        prev, events = ev.GENESIS, []
        for i, t in enumerate(texts, 1):
            e = _event("kiosk-a", i, prev, job=None if i % 2 else f"J{i:06d}", person=None if i == 3 else t or "x",
                       bench=t or None, payload={"reason": t, "n": i, "nested": {"k": [t, None, 1.5, True]}})
            events.append(e)
            prev = e.hash
        assert hub.push(a, "kiosk-a", events, pg_hub.schema) == len(texts)
        assert [r[0] for r in pg_hub.query("SELECT hash FROM events ORDER BY hub_seq")] == [e.hash for e in events]
    finally:
        a.close()


def test_a_bench_refuses_a_forged_event_from_the_hub_and_stays_intact(make_kiosk, pg_hub):
    a, b = make_kiosk("a", "qc"), make_kiosk("b", "qc")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sa.sync_once()
    job = verbs.create_job(a, **RING)
    sa.sync_once()
    # someone with a way into the hub's table (its admin account, or an older hub) adds an event
    # whose hash does not match what it says
    head_n, head_h = pg_hub.query("SELECT origin_seq, hash FROM events WHERE origin = %s ORDER BY origin_seq DESC"
                                  " LIMIT 1", (a.journal.origin,))[0]
    forged = ev.Event(ev.JOB_HELD, job, "eva", "qc", {"reason": "forged"}).chained(a.journal.origin, head_n + 1, head_h)
    pg_hub.query("INSERT INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING 1",
                 (forged.id, forged.origin, forged.origin_seq, forged.type, forged.job, forged.person, forged.bench,
                  forged.ts, '{"reason":"not what was hashed"}', forged.prev_hash, forged.hash))
    with pytest.raises(hubsync.RefusedEvent, match="does not match its own hash.*not applied"):
        sb.sync_once()
    ids = {r[0] for r in b.journal.query("SELECT id FROM events")}
    assert forged.id not in ids and job in {r[0] for r in b.journal.query("SELECT job FROM events")}
    assert b.journal.verify() == []
    assert b.job(job).hold is None
    # the kiosk says so, and keeps saying it: it does not go on past the forged event
    w = hubsync.BackgroundSync(b).start()
    try:
        wait_for(lambda: hubsync.status(b).stopped, what="sync to stop at the forged event")
        st = hubsync.status(b)
        assert st.stopped and "not applied" in st.last_error and str(st).startswith("sync stopped")
    finally:
        w.stop()


# -- 10: origins are registered by an admin; roles and skills are judged again ----------------------

def test_a_bench_cannot_register_an_origin_of_its_own(make_kiosk, pg_hub):
    b = _bench_conn(pg_hub, "qc")
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("INSERT INTO origins (origin, bench) VALUES ('fresh', 'qc')")
    finally:
        b.close()
    k = make_kiosk("k", "qc", register=False)
    with pytest.raises(hub.NotRegistered, match=f"hub add-origin {k.journal.origin} --bench qc"):
        hubsync.Syncer(k).sync_once()
    assert pg_hub.query("SELECT count(*) FROM origins WHERE origin = %s", (k.journal.origin,))[0][0] == 0
    # the admin registers it: from then on it syncs
    hub.register_origin(pg_hub.admin, k.journal.origin, "qc")
    hubsync.Syncer(k).sync_once()
    # and one origin writes as one bench only
    with pytest.raises(hub.HubError, match="already registered to hub role"):
        hub.register_origin(pg_hub.admin, k.journal.origin, "design")


def _verify_config(tmp_path, pg_hub):
    """The example workshop with consultation verified by a second person (a short route to a verification)."""
    cfg = hub_config(tmp_path / "config-verify", pg_hub.dsn)
    routes = cfg / "routes.toml"
    text = routes.read_text()
    head = 'id = "consultation"\n'
    assert head in text
    routes.write_text(text.replace(head, head + "verify = true\n", 1))
    return cfg


def _kiosk(tmp_path, pg_hub, cfg, name: str, bench: str):
    from floorkiosk.workshop.site import init_site, open_shop

    d = tmp_path / name
    init_site(d, cfg, origin=f"{pg_hub.schema}-{name}")
    shutil.copy(pg_hub.creds / f"{bench}.toml", d / "hub.toml")
    hub.register_origin(pg_hub.admin, f"{pg_hub.schema}-{name}", bench)
    return open_shop(d)


def test_an_artisans_verification_pushed_by_a_bench_becomes_a_conflict_everywhere(pg_hub, tmp_path):
    cfg = _verify_config(tmp_path, pg_hub)
    a, b = _kiosk(tmp_path, pg_hub, cfg, "a", "design"), _kiosk(tmp_path, pg_hub, cfg, "b", "design")
    try:
        sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
        sa.sync_once()
        job = verbs.create_job(a, **RING, person_id="dev", bench_id="design")
        verbs.start(a, job, "dev", "design")
        verbs.finish(a, job, "dev", "design", checklist=CONSULTED)
        # the verbs refuse an artisan's verification ...
        with pytest.raises(Exception, match="supervisor"):
            verbs.verify(a, job, "ben", "design")
        # ... so it is written straight into the journal, correctly chained, and pushed
        forged = a.journal.append(a.event(ev.STAGE_VERIFIED, job, "ben", "design", {"stage": "consultation"}))
        sa.sync_once()
        sb.sync_once()
        (c,) = hubsync.conflicts(b)
        assert c.event_id == forged.id and c.person == "ben"
        assert any("supervisor role" in r for r in c.reasons)
        assert b.job(job).stage("consultation").verified_by is None
        # a store built from the hub alone, with the same workshop, agrees, also after a full rebuild
        r = _kiosk(tmp_path, pg_hub, cfg, "replay", "qc")
        try:
            hubsync.Syncer(r, address=pg_hub.admin, readonly=True).sync_once()
            assert r.journal.state_digest() == b.journal.state_digest()
            r.journal.rebuild()
            assert r.journal.state_digest() == b.journal.state_digest()
        finally:
            r.close()
        # a real supervisor's verification is no conflict
        verbs.verify(b, job, "eva", "design", pin="2468")
        sb.sync_once()
        sa.sync_once()
        assert a.job(job).stage("consultation").verified_by == "eva"
        assert [x.event_id for x in hubsync.conflicts(a)] == [forged.id]
    finally:
        a.close()
        b.close()


def test_a_skill_a_person_does_not_have_is_a_conflict_unless_a_supervisor_overrode_it(pg_hub, tmp_path):
    cfg = _verify_config(tmp_path, pg_hub)
    a, b = _kiosk(tmp_path, pg_hub, cfg, "a", "design"), _kiosk(tmp_path, pg_hub, cfg, "b", "design")
    try:
        sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
        sa.sync_once()
        j1 = verbs.create_job(a, **RING, person_id="dev", bench_id="design")
        j2 = verbs.create_job(a, **RING, person_id="dev", bench_id="design")
        # Ben (setting, cleanup) starts a consultation (design): refused by the verbs, forged here
        bad = a.journal.append(a.event(ev.STAGE_STARTED, j1, "ben", "design", {"stage": "consultation"}))
        # the same with an override by a supervisor stands; one "by" an artisan does not
        ok = a.journal.append(a.event(ev.STAGE_STARTED, j2, "ben", "design", {
            "stage": "consultation", "override": {"by": "eva", "code": "trained", "note": "", "reasons": []}}))
        sa.sync_once()
        sb.sync_once()
        assert [c.event_id for c in hubsync.conflicts(b)] == [bad.id]
        assert any("skill" in r for r in hubsync.conflicts(b)[0].reasons)
        assert b.job(j2).stage("consultation").started_by == "ben" and ok.id
        assert b.job(j1).stage("consultation").started_by is None
    finally:
        a.close()
        b.close()


# -- 11: least privilege -----------------------------------------------------------------------------

def test_a_bench_holding_the_old_advisory_lock_stalls_no_push(make_kiosk, pg_hub):
    a = make_kiosk("a", "design")
    sa = hubsync.Syncer(a)
    sa.connect()
    b = _bench_conn(pg_hub, "qc")
    try:
        # any role may take an advisory lock: the push must not depend on one
        b.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"{pg_hub.schema}.events",))
        b.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"{pg_hub.schema}.counters",))
        sa.conn.execute("SET statement_timeout = '5s'")
        for _ in range(3):
            a.journal.append(a.event(ev.PERSON_LOGGED_IN, None, "dev", "design", {}))
        assert sa.sync_once().pushed == 3
        assert hub.reserve_numbers(sa.conn, "job", 10, a.journal.origin) > 0
        # and the push lock itself is out of a bench's reach
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("SELECT * FROM push_lock FOR UPDATE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), b.transaction():
            b.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
    finally:
        b.close()
        sa.close()


def test_a_push_waits_for_another_push_not_for_ever(make_kiosk, pg_hub):
    """Two kiosks pushing at once: one waits on the row lock, both land, in one order."""
    kiosks = [make_kiosk(n, "qc") for n in ("a", "b")]
    syncers = [hubsync.Syncer(k) for k in kiosks]
    for s in syncers:
        s.connect()
    for k in kiosks:
        for _ in range(300):
            k.journal.append(k.event(ev.PERSON_LOGGED_IN, None, "eva", "qc", {}))
    errors = []

    def run(s):
        try:
            s.sync_once()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in syncers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for s in syncers:
        s.sync_once()
        s.close()
    assert pg_hub.query("SELECT count(*) FROM events")[0][0] == 600
    assert {k.journal.pending_count() for k in kiosks} == {0}


def test_a_bench_reserves_a_bounded_block_of_numbers(make_kiosk, pg_hub):
    a = make_kiosk("a", "qc")
    s = hubsync.Syncer(a)
    s.connect()
    try:
        with pytest.raises(psycopg.errors.RaiseException, match=f"1 to {hub.MAX_BLOCK} numbers"):
            hub.reserve_numbers(s.conn, "job", 10_000, a.journal.origin)
        assert hub.reserve_numbers(s.conn, "job", hub.MAX_BLOCK, a.journal.origin) >= 1
    finally:
        s.close()


def test_a_bench_creates_no_temporary_table_and_nothing_in_public(pg_hub):
    b = _bench_conn(pg_hub, "qc")
    try:
        for stmt in ("CREATE TEMP TABLE scratch (x int)", "CREATE TABLE public.sneaky (x int)",
                     f"CREATE TABLE {pg_hub.schema}.sneaky (x int)", "CREATE SCHEMA sneaky",
                     "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                b.execute(stmt)
    finally:
        b.close()


# -- 13: a restored or cut-short journal -------------------------------------------------------------

def _restore(shop, backup):
    """Put a copy of the journal taken earlier in place, as a restore from a backup does."""
    path = shop.journal.path
    shop.close()
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    shutil.copy(backup, path)


def _backup(shop, dest):
    copy = sqlite3.connect(dest)
    with shop.journal.lock:
        shop.journal.conn.backup(copy)
    copy.close()


def test_a_restored_journal_says_it_is_behind_and_recover_brings_its_events_back(make_kiosk, pg_hub, tmp_path,
                                                                                   capsys):
    from floorkiosk.cli import main
    from floorkiosk.workshop.site import open_shop

    a = make_kiosk("a", "qc")
    sa = hubsync.Syncer(a)
    sa.sync_once()
    job = verbs.create_job(a, **RING)
    sa.sync_once()
    _backup(a, tmp_path / "backup.db")
    for i in range(3):
        a.journal.append(a.event(ev.LABEL_REPRINTED, job, "eva", "qc", {"reason": f"after the backup {i}"}))
    verbs.hold(a, job, "eva", "qc", "waiting for stones")
    sa.sync_once()
    sa.close()
    on_hub = a.journal.count()
    _restore(a, tmp_path / "backup.db")

    capsys.readouterr()
    assert main(["--site", str(a.dir), "sync", "run", "--once"]) == 1
    err = capsys.readouterr().err
    assert "behind its own history on the hub" in err and "floorkiosk sync recover" in err
    assert main(["--site", str(a.dir), "sync", "status"]) == 1
    assert "behind its own history" in capsys.readouterr().out

    assert main(["--site", str(a.dir), "sync", "recover"]) == 0
    out = capsys.readouterr().out
    assert "brought back 4 events of this kiosk from the hub" in out
    shop = open_shop(a.dir)
    try:
        assert shop.journal.count() == on_hub and shop.journal.verify() == []
        assert shop.job(job).hold is not None
        s = hubsync.Syncer(shop)
        r = s.sync_once()
        s.close()
        assert r.pushed == 0 and shop.journal.pending_count() == 0
        assert shop.journal.state_digest() == replay_from_hub(pg_hub, tmp_path / "replay")[0]
    finally:
        shop.close()
    assert main(["--site", str(a.dir), "sync", "recover"]) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_a_restored_journal_written_to_since_keeps_what_it_recorded(make_kiosk, pg_hub, tmp_path):
    from floorkiosk.workshop.site import open_shop

    a = make_kiosk("a", "qc")
    sa = hubsync.Syncer(a)
    sa.sync_once()
    job = verbs.create_job(a, **RING)
    sa.sync_once()
    _backup(a, tmp_path / "backup.db")
    lost = [a.journal.append(a.event(ev.LABEL_REPRINTED, job, "eva", "qc", {"reason": f"on the hub {i}"})).id
            for i in range(3)]
    sa.sync_once()
    sa.close()
    _restore(a, tmp_path / "backup.db")
    shop = open_shop(a.dir)
    try:
        # the restored kiosk is used before it syncs: these were acknowledged on its screen
        since = [shop.journal.append(shop.event(ev.LABEL_REPRINTED, job, "eva", "qc", {"reason": f"since {i}"})).id
                 for i in range(2)]
        s = hubsync.Syncer(shop)
        with pytest.raises(hub.Forked, match="behind its own history"):
            s.sync_once()
        s.close()
        # a push of the forked events straight to the hub is refused as a fork too
        conn = hub.connect(hub.address_for(shop.site.settings.hub, shop.dir), origin="t")
        try:
            with pytest.raises(hub.Forked, match="forked from its own history"):
                hub.push(conn, shop.journal.origin, shop.journal.pending())
        finally:
            conn.close()
        res = hubsync.recover(shop)
        assert (res.recovered, res.moved) == (3, 2) and res.kept.exists()
        ids = [r[0] for r in shop.journal.query("SELECT id FROM events WHERE origin = ? ORDER BY origin_seq",
                                                (shop.journal.origin,))]
        assert ids[-5:] == lost + since
        assert shop.journal.verify() == []
        s = hubsync.Syncer(shop)
        assert s.sync_once().pushed == 2
        s.close()
        assert shop.journal.pending_count() == 0
        on_hub = [r[0] for r in pg_hub.query("SELECT id FROM events WHERE origin = %s ORDER BY origin_seq",
                                             (shop.journal.origin,))]
        assert on_hub == ids
        assert shop.journal.state_digest() == replay_from_hub(pg_hub, tmp_path / "replay")[0]
    finally:
        shop.close()


def test_a_journal_cut_short_says_so_at_once(make_kiosk, pg_hub):
    a = make_kiosk("a", "qc")
    sa = hubsync.Syncer(a)
    sa.sync_once()
    for _ in range(4):
        a.journal.append(a.event(ev.PERSON_LOGGED_IN, None, "eva", "qc", {}))
    sa.sync_once()
    sa.close()
    # the last two events are cut off the file (below the journal's own triggers)
    with a.journal.lock:
        a.journal.conn.execute("DROP TRIGGER events_no_delete")
        a.journal.conn.execute("DELETE FROM events WHERE origin_seq > 2")
    with pytest.raises(hub.Forked, match=r"up to #4, this journal only up to #2"):
        hubsync.Syncer(a).sync_once()
    res = hubsync.recover(a)
    assert res.recovered == 2 and a.journal.count() == 4 and a.journal.verify() == []
