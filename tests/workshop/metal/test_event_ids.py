"""The metal tables hold nothing local to one bench: each move and refiner line is keyed by its event's id,
and a site whose tables still held journal sequence numbers gets them made anew from the journal."""

from __future__ import annotations

import sqlite3

from floorkiosk.workshop import metal, verbs
from floorkiosk.workshop.site import open_shop

SCALE = verbs.FromScale("and-standard", "ST,+00012.480  g")


def _record(shop):
    metal.receive_lot(shop, "14KY", "200")
    metal.issue(shop, "14KY", "60", bench_id="casting", person_id="ana")
    jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY", due="2026-12-24")
                                    for _ in range(2)])
    tree = metal.build_tree(shop, jobs, person_id="ana", bench_id="casting")
    metal.cast_tree(shop, tree, metal_in="30.00", person_id="ana", bench_id="casting")
    metal.cut_tree(shop, tree, pieces={jobs[0]: "5.10", jobs[1]: "5.20"}, sprue="15.00", buttons="3.00",
                   to="refiner", person_id="ana", bench_id="casting")
    metal.refiner_return(shop, "Au", "10.000")


def test_each_move_and_refiner_line_is_keyed_by_its_event(shop):
    _record(shop)
    cut = shop.journal.query("SELECT id FROM events WHERE type = 'casting.tree_cut'")[0][0]
    # a tree cut sends sprue and buttons to the refiner: two lines of one event, numbered 0 and 1
    assert shop.journal.query("SELECT n, category FROM metal_refiner WHERE event = ? ORDER BY n", (cut,)) == [
        (0, "sprue"), (1, "buttons")]
    moves = shop.journal.query("SELECT event, n FROM metal_moves")
    assert len(moves) == len(set(moves)) > 6
    ids = {r[0] for r in shop.journal.query("SELECT id FROM events")}
    assert {e for e, _ in moves} <= ids
    cols = {t: [r[1] for r in shop.journal.query(f"PRAGMA table_info({t})")] for t in ("metal_moves", "metal_refiner")}
    assert all("seq" not in c and c[:2] == ["event", "n"] for c in cols.values())


def test_a_site_whose_tables_held_journal_seqs_gets_them_derived_again(shop):
    _record(shop)
    before = shop.journal.table_digests()
    site = shop.dir
    shop.close()
    # the tables as the first migration made them, with each bench's own seq in them and a balance off
    db = sqlite3.connect(site / "journal.db")
    with db:
        db.execute("DROP TABLE metal_moves")
        db.execute("""CREATE TABLE metal_moves (seq INTEGER, ts TEXT NOT NULL, day TEXT NOT NULL, alloy TEXT NOT NULL,
            ug INTEGER NOT NULL, book_ug INTEGER NOT NULL, kind TEXT NOT NULL, category TEXT, src_acct TEXT NOT NULL,
            src_bench TEXT NOT NULL, src_person TEXT NOT NULL, src_stage TEXT NOT NULL, dst_acct TEXT NOT NULL,
            dst_bench TEXT NOT NULL, dst_person TEXT NOT NULL, dst_stage TEXT NOT NULL, job TEXT, tree TEXT, lot TEXT)""")
        db.execute("INSERT INTO metal_moves VALUES (7, 'x', 'x', '14KY', 1, 1, 'issue', NULL, 'stock', '', '', '',"
                   " 'raw', '', '', '', NULL, NULL, NULL)")
        db.execute("DROP TABLE metal_refiner")
        db.execute("""CREATE TABLE metal_refiner (seq INTEGER, ts TEXT, kind TEXT, alloy TEXT, metal TEXT,
            gross_ug INTEGER, fine TEXT, category TEXT, shipment TEXT)""")
        db.execute("UPDATE metal_balances SET ug = ug + 1 WHERE acct = 'stock'")
        db.execute("DELETE FROM migrations WHERE name = 'metal_002_event_ids'")
    db.close()
    again = open_shop(site)
    try:
        assert again.journal.table_digests() == before
        assert again.journal.check_derived().differing == []
    finally:
        again.close()
    # opened once more, nothing is migrated or derived again
    db = sqlite3.connect(site / "journal.db")
    assert db.execute("SELECT count(*) FROM migrations WHERE name = 'metal_002_event_ids'").fetchone()[0] == 1
    db.close()


def test_an_untouched_site_is_not_derived_again_when_opened(shop):
    _record(shop)
    site = shop.dir
    shop.close()
    db = sqlite3.connect(site / "journal.db")
    with db:
        db.execute("UPDATE metal_balances SET ug = ug + 1 WHERE acct = 'stock'")  # a derived row edited by hand
    db.close()
    again = open_shop(site)
    try:
        # no migration pending: the tables stand as they are (audit verify, not the opening, finds the edit)
        assert [t.table for t in again.journal.check_derived().differing] == ["metal_balances"]
    finally:
        again.close()
