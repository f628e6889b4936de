"""Hub sync in one process against a real PostgreSQL: order, exactly-once, conflicts, numbers, photos, roles."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time

import psycopg
import pytest
from hubkit import TcpProxy, replay_from_hub, via_port

from floorkiosk.workshop import verbs
from floorkiosk.workshop import sync as hubsync
from floorkiosk.domain import events as ev
from floorkiosk.errors import Refused
from floorkiosk.workshop.judge import Blocked
from floorkiosk.store import hub

pytestmark = pytest.mark.pg

RING = dict(route="custom-ring", design="Pear halo ring", alloy="18KY", due="2026-12-24")


def sync(*syncers):
    for s in syncers:
        s.sync_once()


def wait_for(cond, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# -- addresses and secrets ------------------------------------------------------------------------

def test_mask_dsn_hides_passwords_in_every_form():
    assert hub.mask_dsn("postgresql://bench:s3cr3t@hub.example:5432/fk") == "postgresql://bench:***@hub.example:5432/fk"
    assert hub.mask_dsn("host=hub password=s3cr3t user=bench") == "user=bench password=*** host=hub"  # as psycopg writes it
    assert hub.mask_dsn("postgresql://hub/fk?password=s3cr3t&sslmode=require") == "postgresql://hub/fk?password=***&sslmode=require"
    assert hub.mask_dsn("postgresql://bench@hub/fk") == "postgresql://bench@hub/fk"
    addr = hub.HubAddress("postgresql://hub/fk", user="fk_setting", password="s3cr3t")
    assert "s3cr3t" not in str(addr) and "s3cr3t" not in repr(addr)


def test_unreachable_hub_error_never_shows_the_password(tmp_path):
    s = socket_free_port()
    addr = hub.HubAddress(f"postgresql://bench:topsecret@127.0.0.1:{s}/fk", password="alsosecret")
    with pytest.raises(hub.HubError) as err:
        hub.connect(addr, timeout=1)
    text = str(err.value)
    assert "cannot reach the hub" in text
    assert "topsecret" not in text and "alsosecret" not in text


def socket_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_credentials_file_is_named_with_what_is_wrong(tmp_path):
    (tmp_path / "hub.toml").write_text('user = "x"\npasword = "typo"\n')
    with pytest.raises(hub.HubError, match="unknown keys pasword"):
        hub.read_credentials(tmp_path)


# -- the hub's schema and roles -------------------------------------------------------------------

def test_hub_init_is_repeatable_and_writes_private_accounts(pg_hub):
    files = sorted(pg_hub.creds.glob("*.toml"))
    assert {f.stem for f in files} == {"design", "casting", "cleanup", "setting", "polishing", "qc", "dispatch"}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    # a second run brings the schema up to date without losing anything
    hub.init_hub(pg_hub.admin, ["design"], None)
    roles = {r[0] for r in pg_hub.query("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (pg_hub.schema + "%",))}
    assert hub.role_name(pg_hub.schema, "design") in roles and hub.group_role(pg_hub.schema) in roles


def _bench_conn(pg_hub, bench):
    import tomllib

    cred = tomllib.loads((pg_hub.creds / f"{bench}.toml").read_text())
    return hub.connect(hub.HubAddress(pg_hub.dsn, cred["user"], cred["password"]), origin=bench)


def test_a_bench_role_has_only_the_rights_it_needs(pg_hub):
    hub.register_origin(pg_hub.admin, "kiosk-a", "setting")
    hub.register_origin(pg_hub.admin, "kiosk-b", "qc")
    a = _bench_conn(pg_hub, "setting")
    b = _bench_conn(pg_hub, "qc")
    try:
        hub.register(a, "kiosk-a", "setting")
        hub.register(b, "kiosk-b", "qc")
        e = ev.Event(ev.LABEL_REPRINTED, "J000001", "ben", "setting", {"reason": "torn"}).chained("kiosk-a", 1, ev.GENESIS)
        assert hub.push(a, "kiosk-a", [e], pg_hub.schema) == 1
        # another bench cannot write as kiosk-a, nor claim it
        forged = ev.Event(ev.LABEL_REPRINTED, "J000001", "eva", "qc", {}).chained("kiosk-a", 2, e.hash)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            hub.push(b, "kiosk-a", [forged], pg_hub.schema)
        with pytest.raises(hub.HubError, match="belongs to hub role"):
            hub.register(b, "kiosk-a", "qc")
        # nobody edits or deletes history, or touches another bench's row
        for stmt in ("UPDATE events SET payload = '{}'", "DELETE FROM events", "TRUNCATE events",
                     "CREATE TABLE sneaky (x int)", "DELETE FROM photos"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                b.execute(stmt)
        assert b.execute("UPDATE origins SET queued = 99 WHERE origin = 'kiosk-a'").rowcount == 0
        with pytest.raises(psycopg.errors.RaiseException, match="not registered"):
            hub.reserve_numbers(b, "job", 10, "kiosk-a")
        # but everyone reads everything
        assert [r[1].id for r in hub.pull(b, 0)] == [e.id]
    finally:
        a.close()
        b.close()


def test_the_hub_refuses_a_photo_whose_bytes_do_not_match_its_hash(pg_hub):
    conn = pg_hub.connect()
    try:
        with pytest.raises(psycopg.errors.CheckViolation):
            hub.put_photo(conn, "0" * 64, b"not this", "x")
        data = b"\xff\xd8 some jpeg bytes"
        sha = hashlib.sha256(data).hexdigest()
        hub.put_photo(conn, sha, data, "x")
        hub.put_photo(conn, sha, data, "x")  # by content hash: twice is once
        assert pg_hub.query("SELECT count(*) FROM photos")[0][0] == 1
    finally:
        conn.close()


# -- exactly once, in order -----------------------------------------------------------------------

def test_a_push_whose_answer_was_lost_is_not_duplicated(make_kiosk, pg_hub):
    a = make_kiosk("a", "design")
    s = hubsync.Syncer(a)
    s.connect()
    events = [a.journal.append(a.event(ev.PERSON_LOGGED_IN, None, "dev", "design", {})) for _ in range(5)]
    pending = a.journal.pending()
    assert [e.id for e in pending] == [e.id for e in events]
    assert hub.push(s.conn, a.journal.origin, pending, s.schema) == 5
    # the kiosk died before it heard back: it sends the same events again
    assert hub.push(s.conn, a.journal.origin, pending, s.schema) == 0
    assert a.journal.pending_count() == 5  # not acknowledged until pulled back in the hub's order
    s.sync_once()
    assert a.journal.pending_count() == 0
    rows = pg_hub.query("SELECT id, origin_seq FROM events ORDER BY hub_seq")
    assert [r[0] for r in rows] == [e.id for e in events]
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5]
    s.close()


def test_a_gap_in_a_bench_chain_is_refused(make_kiosk, pg_hub):
    a = make_kiosk("a", "design")
    s = hubsync.Syncer(a)
    s.connect()
    for _ in range(3):
        a.journal.append(a.event(ev.PERSON_LOGGED_IN, None, "dev", "design", {}))
    pending = a.journal.pending()
    with pytest.raises(hub.HubError, match="chain up to #0"):
        hub.push(s.conn, a.journal.origin, pending[1:], s.schema)
    assert pg_hub.query("SELECT count(*) FROM events")[0][0] == 0
    s.close()


# -- convergence and conflicts --------------------------------------------------------------------

def test_two_kiosks_converge_to_a_rebuild_from_the_hub(make_kiosk, pg_hub, tmp_path):
    a, b = make_kiosk("a", "design"), make_kiosk("b", "qc")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    jobs = verbs.create_jobs(a, [dict(RING) for _ in range(3)], person_id="dev", bench_id="design")
    sync(sa, sb)
    assert b.job(jobs[0]).design == "Pear halo ring"
    verbs.start(a, jobs[0], "dev", "design")
    verbs.hold(b, jobs[1], "eva", "qc", "client called: stone change")
    verbs.record_reprint(b, jobs[2], "eva", "qc", "bag label torn")
    verbs.record_reprint(a, jobs[2], "dev", "design", "smudged")
    sync(sa, sb, sa)
    assert a.journal.pending_count() == b.journal.pending_count() == 0
    pulled, rebuilt, n = replay_from_hub(pg_hub, tmp_path / "replay")
    assert n == a.journal.count() == b.journal.count()
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt
    assert a.job(jobs[1]).hold is not None and a.job(jobs[2]).reprints == 2
    assert not hubsync.conflicts(a)


def test_two_offline_starts_of_one_stage_give_one_truth_and_a_conflict(make_kiosk, pg_hub, tmp_path):
    a, b = make_kiosk("a", "design"), make_kiosk("b", "design")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    job = verbs.create_job(a, **RING, person_id="dev", bench_id="design")
    sync(sa, sb)
    # the network is down: each kiosk lets its own person start consultation
    verbs.start(a, job, "dev", "design")
    verbs.start(b, job, "farid", "design")
    assert b.job(job).stage("consultation").started_by == "farid"
    sync(sa, sb)  # a reached the hub first: its start comes first in the one order
    assert b.job(job).stage("consultation").started_by == "dev"  # b folded the job again in the hub's order
    sync(sa)
    for k in (a, b):
        (c,) = hubsync.conflicts(k)
        assert c.type == ev.STAGE_STARTED and c.person == "farid" and c.status == "open"
        assert any("already in progress" in r for r in c.reasons)
        assert hubsync.status(k).conflicts == 1
    assert a.journal.state_digest() == b.journal.state_digest() == replay_from_hub(pg_hub, tmp_path / "r1")[0]
    # the second process of a rebuild folds every event; with a conflict open, this one folds instead
    a.journal.rebuild(apart=True)
    assert a.journal.state_digest() == b.journal.state_digest()
    assert a.journal.query("SELECT started_by, runs FROM kpi_stages WHERE job = ? AND stage = 'consultation'",
                           (job,)) == [("dev", 1)]

    # a supervisor decides on one kiosk; the decision travels like any event
    with pytest.raises(Refused, match="not a supervisor"):
        hubsync.resolve_conflict(a, c.event_id, "accept", "dev", "design")
    # ... and never one who recorded the event: Farid's own start is decided by another supervisor
    with pytest.raises(Refused, match="Farid Haddad recorded this event: another supervisor decides"):
        hubsync.resolve_conflict(a, c.event_id, "accept", "farid", "design", pin="1357")
    hubsync.resolve_conflict(a, c.event_id, "accept", "eva", "design", note="Farid did it", pin="2468")
    sync(sa, sb, sa)
    for k in (a, b):
        assert hubsync.conflicts(k) == []
        (done,) = hubsync.conflicts(k, status="accepted")
        assert done.resolved_by == "eva" and done.note == "Farid did it"
        assert k.job(job).stage("consultation").started_by == "farid"
    with pytest.raises(Refused, match="already accepted"):
        hubsync.resolve_conflict(b, c.event_id, "dismiss", "eva", "qc", pin="2468")
    pulled, rebuilt, _ = replay_from_hub(pg_hub, tmp_path / "r2")
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt


def test_a_dismissed_conflict_stays_out_of_the_state_but_in_the_journal(make_kiosk, pg_hub):
    a, b = make_kiosk("a", "qc"), make_kiosk("b", "qc")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    job = verbs.create_job(a, **RING)
    sync(sa, sb)
    verbs.hold(a, job, "eva", "qc", "stone loose")
    verbs.hold(b, job, "farid", "qc", "client asked to wait")
    sync(sb, sa, sb)  # b first
    assert a.job(job).hold.reason == "client asked to wait"
    (c,) = hubsync.conflicts(a)
    assert c.person == "eva" and "already on hold" in c.reasons[0]
    hubsync.resolve_conflict(b, c.event_id, "dismiss", "farid", "qc", pin="1357")
    sync(sb, sa)
    assert a.job(job).hold.reason == "client asked to wait"
    assert hubsync.conflicts(a, status="dismissed")[0].event_id == c.event_id
    assert c.event_id in {e.id for e in a.journal.events(job=job)}
    assert a.journal.state_digest() == b.journal.state_digest()
    # a rebuild with a second process sees the conflict and folds the other tables here instead
    a.journal.rebuild(apart=True)
    assert a.journal.state_digest() == b.journal.state_digest()


def test_a_supervisor_override_recorded_offline_is_not_a_conflict(make_kiosk):
    from floorkiosk.workshop.judge import Override

    a, b = make_kiosk("a", "design"), make_kiosk("b", "design")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    job = verbs.create_job(a, **RING)
    sync(sa, sb)
    verbs.start(a, job, "dev", "design")
    # consultation is not finished anywhere: cad-approval is blocked, a supervisor overrides at b
    with pytest.raises(Blocked):
        verbs.start(b, job, "farid", "design", stage="cad-approval")
    verbs.start(b, job, "farid", "design", stage="cad-approval", override=Override("eva", "CLIENT-RUSH", pin="2468"))
    sync(sa, sb, sa)
    assert hubsync.conflicts(a) == hubsync.conflicts(b) == []
    assert a.job(job).stage("cad-approval").started_by == "farid"


# -- job numbers ----------------------------------------------------------------------------------

def test_job_numbers_from_many_kiosks_never_collide_even_offline(make_kiosk, pg_hub):
    kiosks = [make_kiosk(n, "design") for n in "abc"]
    syncers = [hubsync.Syncer(k) for k in kiosks]
    sync(*syncers)  # each reserves a block while online
    made = []
    for _ in range(20):  # then, offline, all three keep creating job bags
        for k in kiosks:
            made += verbs.create_jobs(k, [dict(RING), dict(RING)])
    assert len(made) == len(set(made)) == 120
    sync(*syncers, *syncers)
    created = pg_hub.query("SELECT job FROM events WHERE type = 'job.created'")
    assert len(created) == 120 and len({r[0] for r in created}) == 120
    assert all(not hubsync.conflicts(k) for k in kiosks)
    assert len({k.journal.state_digest() for k in kiosks}) == 1
    batch = verbs.create_batch(kiosks[0], made[:3], "halo x3")
    batch2 = verbs.create_batch(kiosks[1], made[3:6], "halo x3")
    assert batch != batch2


def test_a_kiosk_that_never_reached_the_hub_says_why_it_cannot_number_a_job(tmp_path, pg_hub):
    from floorkiosk.workshop.site import init_site, open_shop
    from hubkit import hub_config

    cfg = hub_config(tmp_path / "cfg", f"postgresql://postgres@127.0.0.1:{socket_free_port()}/test")
    init_site(tmp_path / "k", cfg, origin="lonely")
    shop = open_shop(tmp_path / "k")
    try:
        with pytest.raises(Refused, match="cannot reach it"):
            verbs.create_job(shop, **RING)
        assert shop.journal.count() == 0
    finally:
        shop.close()


# -- photos ---------------------------------------------------------------------------------------

def _jpeg(color) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


def test_photos_reach_the_hub_by_hash_and_any_kiosk_shows_them(make_kiosk, pg_hub):
    a, b, c = make_kiosk("a", "design"), make_kiosk("b", "qc"), make_kiosk("c", "qc")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    job = verbs.create_job(a, **RING)
    verbs.start(a, job, "dev", "design")
    data = _jpeg((200, 160, 40))
    sha = hashlib.sha256(data).hexdigest()
    path = a.photos_dir / sha[:2] / f"{sha}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    verbs.attach_photo(a, job, "dev", "design", sha)
    sync(sa, sb)
    assert pg_hub.query("SELECT count(*) FROM photos WHERE sha256 = %s", (sha,))[0][0] == 1
    got = hubsync.local_photo(b, sha)
    assert got is not None and got.read_bytes() == data
    # a kiosk that has not synced yet fetches it on demand
    assert hubsync.local_photo(c, sha) is None
    assert hubsync.fetch_photo(c, sha).read_bytes() == data


# -- offline, status, recovery --------------------------------------------------------------------

def test_offline_kiosk_keeps_working_shows_queued_and_drains_on_recovery(make_kiosk, pg_hub, pg_dsn):
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(pg_dsn)
    proxy = TcpProxy(info.get("host") or "127.0.0.1", int(info.get("port") or 5432))
    try:
        dsn = via_port(pg_hub.dsn, proxy.port)
        a = make_kiosk("a", "qc", dsn=dsn)
        w = hubsync.start_background_sync(a, "qc")
        try:
            wait_for(lambda: hubsync.status(a).online, what="online")
            job = verbs.create_job(a, **RING)
            proxy.cut()
            for i in range(7):
                verbs.record_reprint(a, job, "eva", "qc", f"reprint {i}")
            wait_for(lambda: not hubsync.status(a).online, what="offline")
            st = hubsync.status(a)
            assert st.queued >= 7 and str(st).startswith(f"offline, {st.queued} queued")
            assert st.last_error
            proxy.restore()
            wait_for(lambda: hubsync.status(a).online and hubsync.status(a).queued == 0, what="drained")
            assert pg_hub.query("SELECT count(*) FROM events WHERE type = 'label.reprinted'")[0][0] == 7
        finally:
            w.stop()
    finally:
        proxy.close()


def test_a_terminated_hub_connection_is_reopened(make_kiosk, pg_hub):
    a = make_kiosk("a", "qc")
    w = hubsync.start_background_sync(a, "qc")
    try:
        wait_for(lambda: hubsync.status(a).online, what="online")
        origin = a.journal.origin
        killed = pg_hub.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                              (f"floorkiosk {origin}",))
        assert killed and all(r[0] for r in killed)
        job = verbs.create_job(a, **RING)
        verbs.record_reprint(a, job, "eva", "qc", "after the hub dropped us")
        wait_for(lambda: hubsync.status(a).queued == 0 and hubsync.status(a).online, what="drained")
        assert pg_hub.query("SELECT count(*) FROM events WHERE origin = %s", (origin,))[0][0] == 2
    finally:
        w.stop()


def test_a_site_without_a_hub_is_unchanged(shop):
    st = hubsync.status(shop)
    assert not st.enabled and str(st) == "no hub (this machine only)"
    assert verbs.create_jobs(shop, [dict(RING), dict(RING)]) == ["J000001", "J000002"]
    assert "conflicts" not in shop.jobs.tables
    with pytest.raises(hub.HubError, match="no hub"):
        hubsync.Syncer(shop)


# -- the CLI --------------------------------------------------------------------------------------

def test_cli_status_conflicts_resolve_and_audit(make_kiosk, pg_hub, capsys):
    from floorkiosk.cli import main

    a, b = make_kiosk("a", "qc"), make_kiosk("b", "qc")
    sa, sb = hubsync.Syncer(a, "qc"), hubsync.Syncer(b, "qc")
    sync(sa, sb)
    job = verbs.create_job(a, **RING)
    sync(sa, sb)
    verbs.hold(a, job, "eva", "qc", "A")
    verbs.hold(b, job, "farid", "qc", "B")
    sync(sa, sb, sa)
    for k in (a, b):
        k.close()
    capsys.readouterr()
    assert main(["--site", str(a.dir), "sync", "status"]) == 0
    out = capsys.readouterr().out
    assert "online, 0 queued, 1 open conflicts" in out and a.journal.origin in out and b.journal.origin in out
    assert main(["--site", str(b.dir), "sync", "conflicts"]) == 0
    out = capsys.readouterr().out
    assert "already on hold" in out and "Farid Haddad" in out
    (c,) = [line.split()[0] for line in out.splitlines() if line and not line.startswith(" ")]
    assert main(["--site", str(b.dir), "sync", "resolve", c, "--dismiss", "--by", "ben"]) == 2
    assert "not a supervisor" in capsys.readouterr().err
    assert main(["--site", str(b.dir), "sync", "resolve", c, "--dismiss", "--by", "eva", "--pin", "2468"]) == 0
    assert main(["--site", str(b.dir), "sync", "run", "--once"]) == 0
    assert main(["--site", str(a.dir), "audit", "verify", "--hub"]) == 0
    out = capsys.readouterr().out
    assert "every chain intact" in out
    # an edit on the hub (by someone with the admin account) is caught and named
    victim = pg_hub.query("SELECT id FROM events WHERE type = 'job.held' ORDER BY hub_seq LIMIT 1")[0][0]
    pg_hub.query("UPDATE events SET payload = replace(payload, 'A', 'Z') WHERE id = %s RETURNING 1", (victim,))
    assert main(["--site", str(a.dir), "audit", "verify", "--hub"]) == 1
    err = capsys.readouterr().err
    assert victim in err and "edited" in err


def test_a_hub_never_initialised_says_what_to_run(tmp_path, pg_dsn):
    from floorkiosk.workshop.site import init_site, open_shop
    from hubkit import hub_config, with_schema

    cfg = hub_config(tmp_path / "cfg", with_schema(pg_dsn, "fk_t_never_created"))
    init_site(tmp_path / "k", cfg, origin="early")
    shop = open_shop(tmp_path / "k")
    try:
        with pytest.raises(hub.HubError, match="floorkiosk hub init"):
            hubsync.Syncer(shop).sync_once()
        assert hubsync.status(shop).queued == 0
    finally:
        shop.close()
