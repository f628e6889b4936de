"""Every derived table the same on every bench and as a fresh replay of the hub's journal (real PostgreSQL).

Weights, casting trees, scrap returns and the refiner's returns are order-dependent (metal drawn into
work comes from the bench stock a person holds at that moment), and so is a batch's list of job bags:
they are recorded at two benches while the other's events are not yet there, and synced in an order
that puts a bench's events before the other's already applied ones.
"""

from __future__ import annotations

import json

import pytest
from hubkit import replay_from_hub

from floorkiosk.workshop import metal, verbs
from floorkiosk.workshop import sync as hubsync

pytestmark = pytest.mark.pg

SCALE = verbs.FromScale("and-standard", "ST,+00012.480  g")
CAST = dict(route="casting-line", design="Stacking ring", alloy="14KY", due="2026-12-24")
FAB = dict(route="fabrication", design="Signet", alloy="18KY", due="2026-12-24")


def sync(*syncers):
    for s in syncers:
        s.sync_once()


def weigh(shop, job, person, bench, grams, phase, stage):
    return verbs.record_weight(shop, job, person, bench, grams, phase=phase, stage=stage, source=SCALE)


def test_metal_moves_at_two_benches_give_the_same_tables_everywhere_and_as_a_replay(make_kiosk, pg_hub, tmp_path):
    a, b = make_kiosk("a", "casting"), make_kiosk("b", "cleanup")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    metal.receive_lot(a, "14KY", "200", supplier="Bullion House")
    metal.receive_lot(a, "18KY", "100", supplier="Bullion House")
    metal.issue(a, "14KY", "60", bench_id="casting", person_id="ana")
    metal.issue(a, "18KY", "5", bench_id="cleanup", person_id="ana")
    cast = verbs.create_jobs(a, [dict(CAST) for _ in range(3)], person_id="farid", bench_id="casting")
    fab = verbs.create_jobs(a, [dict(FAB) for _ in range(2)], person_id="farid", bench_id="casting")
    sync(sa, sb, sa)

    # Offline from each other: a casts a tree and puts metal in the cleanup bench's common stock; b
    # draws metal into work at cleanup beyond what Ana holds: whether the rest comes from the common
    # stock depends on whether a's issue stands before the draw.
    tree = metal.build_tree(a, cast, person_id="ana", bench_id="casting")
    metal.cast_tree(a, tree, metal_in="45.00", tree_grams="44.80", person_id="ana", bench_id="casting")
    verbs.start(b, fab[0], "ana", "cleanup", "fabrication")
    weigh(b, fab[0], "ana", "cleanup", "6.20", "in", "fabrication")
    metal.issue(a, "18KY", "20", bench_id="cleanup")
    weigh(b, fab[0], "ana", "cleanup", "6.05", "out", "fabrication")
    metal.return_metal(b, "18KY", "0.040", category="lemel", bench_id="cleanup", person_id="ana", stage="fabrication")
    sync(sb)  # b's events reach the hub first: they come before a's in the one order
    metal.cut_tree(a, tree, pieces={cast[0]: "5.10", cast[1]: "5.20", cast[2]: "5.30"}, sprue="25.00",
                   buttons="3.70", to="refiner", person_id="ana", bench_id="casting")
    sync(sa, sb)
    verbs.start(b, fab[1], "ana", "cleanup", "fabrication")
    weigh(b, fab[1], "ana", "cleanup", "7.00", "in", "fabrication")  # offline: a's shipment below is not here
    shipment = metal.send_to_refiner(a, "14KY", "10.000", category="sprue")
    sync(sa, sb, sa)
    metal.refiner_return(b, "Au", "15.500", shipment=shipment, alloy="24K", grams="15.500")
    metal.refiner_return(a, "Au", "0.200", shipment=shipment)
    metal.return_metal(a, "14KY", "5", category="clean", bench_id="casting", person_id="ana")
    sync(sb, sa, sb, sa)

    assert a.journal.pending_count() == b.journal.pending_count() == 0
    assert a.journal.query("SELECT count(*) FROM metal_moves")[0][0] > 15
    pulled, rebuilt, n = replay_from_hub(pg_hub, tmp_path / "replay")
    assert n == a.journal.count() == b.journal.count()
    here, there = a.journal.table_digests(), b.journal.table_digests()
    differ = sorted(t for t in here if here[t] != there.get(t))
    assert differ == [], f"tables that differ between the benches: {differ}"
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt
    # and the bench's own check against a fresh replay of the hub's journal says so, table by table
    check = hubsync.compare_with_hub(a)
    assert check.differing == [] and len(check.tables) == len(here)
    assert check.events == n


def test_sync_compare_says_when_a_table_differs_from_a_replay_and_when_it_cannot_compare(make_kiosk, pg_hub, capsys):
    import sqlite3

    from floorkiosk.cli import main

    a, b = make_kiosk("a", "casting"), make_kiosk("b", "cleanup")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    metal.receive_lot(a, "18KY", "50")
    metal.return_metal(b, "18KY", "0.5", category="lemel", bench_id="cleanup", person_id="ana")  # a's lot not there
    sync(sb, sa, sb)
    for k in (a, b):
        k.close()
    capsys.readouterr()
    assert main(["--site", str(a.dir), "sync", "compare"]) == 0
    out = capsys.readouterr().out
    assert "metal_balances" in out and "DIFFERS" not in out
    assert "derived tables ok" in out and "fresh replay of the hub's" in out

    db = sqlite3.connect(a.dir / "journal.db")
    with db:  # a derived row edited by hand
        db.execute("UPDATE metal_balances SET ug = ug + 1 WHERE acct = 'stock'")
    db.close()
    assert main(["--site", str(a.dir), "sync", "compare"]) == 1
    cap = capsys.readouterr()
    assert [ln.split()[0] for ln in cap.out.splitlines() if "DIFFERS" in ln] == ["metal_balances"]
    assert "1 of" in cap.err and "metal_balances" in cap.err and "db rebuild" in cap.err
    assert main(["--site", str(a.dir), "db", "rebuild", "--person", "farid"]) == 1  # it differed: rebuilt
    assert main(["--site", str(a.dir), "sync", "run", "--once"]) == 0  # the rebuild's own event goes up
    capsys.readouterr()
    assert main(["--site", str(a.dir), "sync", "compare"]) == 0
    capsys.readouterr()

    # an event not yet on the hub: the bench cannot be compared with it yet, and says why
    assert main(["--site", str(b.dir), "metal", "receive", "18KY", "10", "--person", "farid"]) == 0
    capsys.readouterr()
    assert main(["--site", str(b.dir), "sync", "compare"]) == 1
    assert "not comparable yet" in capsys.readouterr().err


def test_job_bags_joining_one_batch_at_two_benches_are_listed_in_the_hubs_order(make_kiosk, pg_hub, tmp_path):
    a, b = make_kiosk("a", "casting"), make_kiosk("b", "cleanup")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    jobs = verbs.create_jobs(a, [dict(CAST) for _ in range(5)], person_id="farid", bench_id="casting")
    batch = verbs.create_batch(a, jobs[:1], design="Stacking ring", person_id="farid", bench_id="casting")
    sync(sa, sb)
    verbs.add_to_batch(a, batch, [jobs[1]], person_id="farid", bench_id="casting")  # offline from each other
    verbs.add_to_batch(b, batch, [jobs[2], jobs[3]], person_id="farid", bench_id="cleanup")
    sync(sb, sa, sb)  # b's first in the hub's order; a had put its own job bag in before b's came
    verbs.close_batch(a, batch, person_id="farid", bench_id="casting")
    sync(sa, sb)
    listed = a.journal.query("SELECT jobs, closed_by FROM batches WHERE id = ?", (batch,))
    assert listed == b.journal.query("SELECT jobs, closed_by FROM batches WHERE id = ?", (batch,))
    assert json.loads(listed[0][0]) == [jobs[0], jobs[2], jobs[3], jobs[1]]
    pulled, rebuilt, _ = replay_from_hub(pg_hub, tmp_path / "replay")
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt


def test_the_metal_tables_are_derived_again_only_when_the_hubs_order_changes_what_they_hold(make_kiosk, pg_hub,
                                                                                           tmp_path):
    a, b = make_kiosk("a", "casting"), make_kiosk("b", "cleanup")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    metal.receive_lot(a, "18KY", "100")
    metal.issue(a, "18KY", "10", bench_id="cleanup", person_id="ana")
    job = verbs.create_job(a, **FAB, person_id="farid", bench_id="casting")
    sync(sa, sb, sa)
    (ledger,) = [p for p in b.journal.projectors if isinstance(p, metal.MetalProjector)]
    derived = []
    begin = ledger.rebuild_begin
    ledger.rebuild_begin = lambda conn: (derived.append(1), begin(conn))

    # metal issued to the casting bench, and a piece drawn into work at cleanup: nothing in common
    metal.issue(a, "18KY", "20", bench_id="casting", person_id="ana")
    verbs.start(b, job, "ana", "cleanup", "fabrication")
    weigh(b, job, "ana", "cleanup", "6.20", "in", "fabrication")
    sync(sa, sb, sa)  # a's issue comes first in the hub's order, before b's draw applied already
    assert derived == []
    assert a.journal.state_digest() == b.journal.state_digest()

    # metal put in the cleanup bench's common stock while b weighs there: b derives its ledger again
    metal.issue(a, "18KY", "20", bench_id="cleanup")
    weigh(b, job, "ana", "cleanup", "6.10", "out", "fabrication")
    sync(sa, sb, sa)
    assert derived == [1]
    pulled, rebuilt, _ = replay_from_hub(pg_hub, tmp_path / "replay")
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt


def test_one_mold_used_at_two_benches_offline_is_counted_and_dated_in_the_hubs_order(make_kiosk, pg_hub, tmp_path):
    from floorkiosk.workshop import tooling

    a, b = make_kiosk("a", "design"), make_kiosk("b", "design")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    jobs = verbs.create_jobs(a, [dict(CAST) for _ in range(3)], person_id="dev", bench_id="design")
    sync(sa, sb, sa)
    verbs.start(a, jobs[0], "dev", "design", "wax-injection")
    for j in jobs[1:]:
        verbs.start(b, j, "dev", "design", "wax-injection")
    sync(sa, sb, sa)
    (tools,) = [p for p in a.journal.projectors if isinstance(p, tooling.ToolProjector)]
    derived = []
    begin = tools.rebuild_begin
    tools.rebuild_begin = lambda conn: (derived.append(1), begin(conn))

    # two molds, one at each bench: a's use stands after b's in the hub's order, and nothing changes
    tooling.use_tool(a, jobs[0], "M13", "dev", "design")
    tooling.use_tool(b, jobs[1], "M12", "dev", "design")
    sync(sb, sa, sb)
    assert derived == []
    # one mold at both benches, offline from each other: b's use comes first in the hub's order, so
    # a's is the mold's last use, on every bench
    tooling.use_tool(a, jobs[0], "M12", "dev", "design")
    tooling.use_tool(b, jobs[2], "M12", "dev", "design")
    sync(sb, sa, sb)
    assert derived == [1]
    last = a.journal.query("SELECT uses, last_used FROM tool_state WHERE tool = 'M12'")
    assert last == b.journal.query("SELECT uses, last_used FROM tool_state WHERE tool = 'M12'")
    mine = a.journal.query("SELECT ts FROM events WHERE type = 'tool.used' AND origin = ? AND payload LIKE '%M12%'",
                           (a.journal.origin,))
    assert last == [(3, mine[0][0])]
    pulled, rebuilt, _ = replay_from_hub(pg_hub, tmp_path / "replay")
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt


def test_a_characteristics_points_are_numbered_in_the_hubs_order_on_every_bench(make_kiosk, pg_hub, tmp_path):
    a, b = make_kiosk("a", "cleanup"), make_kiosk("b", "cleanup")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    jobs = verbs.create_jobs(a, [dict(FAB) for _ in range(4)], person_id="ana", bench_id="cleanup")
    sync(sa, sb, sa)
    # offline from each other, each bench runs fabrication on its own pieces: each finish is a point
    # of the characteristic loss.fabrication, numbered in its place in the series
    for shop, job, out in ((a, jobs[0], "6.10"), (b, jobs[1], "6.05"), (a, jobs[2], "6.12"), (b, jobs[3], "6.00")):
        verbs.start(shop, job, "ana", "cleanup", "fabrication")
        weigh(shop, job, "ana", "cleanup", "6.20", "in", "fabrication")
        weigh(shop, job, "ana", "cleanup", out, "out", "fabrication")
        verbs.finish(shop, job, "ana", "cleanup", "fabrication", checklist=a.site.stages["fabrication"].checklist)
    sync(sb, sa, sb)
    series = "SELECT seq, job FROM spc_points WHERE name = 'loss.fabrication' ORDER BY seq"
    assert a.journal.query(series) == b.journal.query(series) == [(0, jobs[1]), (1, jobs[3]), (2, jobs[0]),
                                                                  (3, jobs[2])]
    pulled, rebuilt, _ = replay_from_hub(pg_hub, tmp_path / "replay")
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt


def test_work_on_a_job_held_at_another_bench_meanwhile_leaves_no_trace_in_any_table(make_kiosk, pg_hub, tmp_path):
    a, b = make_kiosk("a", "cleanup"), make_kiosk("b", "qc")
    sa, sb = hubsync.Syncer(a), hubsync.Syncer(b)
    sync(sa, sb)
    metal.receive_lot(a, "18KY", "50")
    metal.issue(a, "18KY", "10", bench_id="cleanup", person_id="ana")
    job = verbs.create_job(a, **FAB, person_id="ana", bench_id="cleanup")
    sync(sa, sb, sa)
    verbs.hold(b, job, "eva", "qc", "client called: stop")  # offline from each other
    verbs.start(a, job, "ana", "cleanup", "fabrication")
    weigh(a, job, "ana", "cleanup", "6.20", "in", "fabrication")
    sync(sb, sa, sb)  # the hold comes first in the hub's order: a's start and weigh-in are conflicts
    assert {c.type for c in hubsync.conflicts(a)} == {"stage.started", "weight.recorded"}
    for k in (a, b):
        assert k.journal.query("SELECT count(*) FROM spc_runs")[0][0] == 0
        assert k.journal.query("SELECT count(*) FROM metal_moves WHERE job = ?", (job,))[0][0] == 0
    pulled, rebuilt, _ = replay_from_hub(pg_hub, tmp_path / "replay")
    assert a.journal.state_digest() == b.journal.state_digest() == pulled == rebuilt
