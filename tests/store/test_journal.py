"""The journal: durable appends, hash chains that reveal tampering, and rebuilds that reproduce state."""

import json
import sqlite3
import subprocess
import sys

import pytest

from scalereading import weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import cards, verbs
from floorkiosk.domain import events as ev


def make_history(shop):
    j = verbs.create_job(shop, route="custom-ring", design="Solitaire", alloy="18KY", due="2026-12-24", client="Maria Lopez")
    for st in ("consultation", "cad-approval", "wax-print"):
        verbs.start(shop, j, "dev", "design")
        verbs.finish(shop, j, "dev", "design", checklist=shop.site.stages[st].checklist)
    verbs.start(shop, j, "ana", "casting")
    weigh(shop, j, "ana", "casting", "10.00")
    weigh(shop, j, "ana", "casting", "9.50")  # 5 % > 3 %: held
    verbs.release(shop, j, "eva", "casting", note="checked the flask", pin="2468")
    verbs.finish(shop, j, "ana", "casting")
    return j


def test_append_is_on_disk_for_another_connection(shop):
    e = shop.journal.append(ev.Event(ev.LABEL_REPRINTED, None, "ana", "casting", {"reason": "smudged"}))
    other = sqlite3.connect(shop.journal.path)
    row = other.execute("SELECT id, hash FROM events WHERE seq = ?", (e.seq,)).fetchone()
    assert row == (e.id, e.hash)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert shop.journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_chain_links_each_event_to_the_one_before(shop):
    make_history(shop)
    evs = list(shop.journal.events())
    assert [e.origin_seq for e in evs] == list(range(1, len(evs) + 1))
    assert evs[0].prev_hash == ev.GENESIS
    for a, b in zip(evs, evs[1:]):
        assert b.prev_hash == a.hash
    assert all(e.compute_hash() == e.hash for e in evs)
    assert shop.journal.verify() == []


def _tamper(shop, sql, *params):
    """Someone with sqlite3 on the file, who first drops the triggers that refuse it."""
    conn = sqlite3.connect(shop.journal.path)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_edited_event_is_named(shop):
    make_history(shop)
    victim = [e for e in shop.journal.events() if e.type == ev.WEIGHT_RECORDED][1]
    _tamper(shop, "UPDATE events SET payload = replace(payload, '9.50', '9.90') WHERE id = ?", victim.id)
    probs = shop.journal.verify()
    assert len(probs) == 1 and probs[0].event_id == victim.id and "edited" in probs[0].what


def test_deleted_event_is_found(shop):
    make_history(shop)
    evs = list(shop.journal.events())
    _tamper(shop, "DELETE FROM events WHERE id = ?", evs[5].id)
    probs = shop.journal.verify()
    assert probs and probs[0].event_id == evs[6].id and "deleted" in probs[0].what


def test_event_inserted_out_of_order_is_found(shop):
    make_history(shop)
    evs = list(shop.journal.events())
    forged = ev.Event(ev.STAGE_VERIFIED, evs[0].job, "eva", "qc", {"stage": "casting"}, ts=evs[3].ts)
    # slipped in between #3 and #4 by renumbering the rest (what a careful forger would have to do)
    _tamper(shop, "UPDATE events SET origin_seq = origin_seq + 1000 WHERE origin_seq >= 4")
    _tamper(shop, "UPDATE events SET origin_seq = origin_seq - 999 WHERE origin_seq >= 1004")
    f = forged.chained(evs[0].origin, 4, evs[2].hash)
    _tamper(shop, "INSERT INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?)", f.id, f.origin, f.origin_seq, f.type, f.job, f.person, f.bench,
            f.ts, f.payload_json(), f.prev_hash, f.hash)
    probs = shop.journal.verify()
    assert probs, "a forged event went unnoticed"
    assert probs[0].event_id in (f.id, evs[3].id)


def test_audit_cli_exit_codes(shop, tmp_path):
    make_history(shop)
    site = str(shop.dir)
    ok = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", site, "audit", "verify"], capture_output=True, text=True)
    assert ok.returncode == 0 and "every chain intact" in ok.stdout
    victim = list(shop.journal.events())[2]
    _tamper(shop, "UPDATE events SET person = 'farid' WHERE id = ?", victim.id)
    bad = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", site, "audit", "verify"], capture_output=True, text=True)
    assert bad.returncode == 1 and victim.id in bad.stderr and "Traceback" not in bad.stderr


def test_rebuild_reproduces_state_exactly(shop):
    j = make_history(shop)
    b = verbs.create_batch(shop, [j], "one-piece batch", person_id="farid", bench_id="casting")
    before = shop.journal.state_digest()
    jobs_before = shop.journal.query("SELECT * FROM jobs ORDER BY id")
    shop.journal.conn.execute("DELETE FROM jobs")  # even with the derived tables damaged
    shop.journal.rebuild()
    assert shop.journal.state_digest() == before
    assert shop.journal.query("SELECT * FROM jobs ORDER BY id") == jobs_before
    assert cards.batch_jobs(shop, b) == [j]


def test_rebuild_cli_says_identical(shop):
    make_history(shop)
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(shop.dir), "db", "rebuild"], capture_output=True, text=True)
    assert r.returncode == 0 and "state identical" in r.stdout


def test_failed_transaction_writes_nothing(shop):
    n = shop.journal.count()

    def boom(conn):
        raise RuntimeError("power cut in the middle")

    with pytest.raises(RuntimeError):
        shop.journal.append_many(build=boom)
    assert shop.journal.count() == n
    shop.journal.append(ev.Event(ev.LABEL_REPRINTED, None, "ana", None, {}))  # and the journal still works
    assert shop.journal.count() == n + 1


def test_migrations_run_once(shop):
    from floorkiosk.store.schema import migrate

    assert migrate(shop.journal.conn) == []
    names = [r[0] for r in shop.journal.query("SELECT name FROM migrations ORDER BY name")]
    assert names[:2] == ["001_journal", "002_jobs"]


def test_listeners_see_events_only_after_commit(shop):
    seen = []

    def listener(events):
        # the events are already readable from a separate connection
        other = sqlite3.connect(shop.journal.path)
        seen.append(other.execute("SELECT count(*) FROM events WHERE id = ?", (events[0].id,)).fetchone()[0])

    shop.journal.subscribe(listener)
    shop.journal.append(ev.Event(ev.LABEL_REPRINTED, None, "ana", None, {}))
    assert seen == [1]


@pytest.mark.parametrize("fields", [
    ("a" * 32, "demo-bench", 17, "stage.started", "J000001", "ana", "casting", "2026-11-21T10:00:00.000Z", "0" * 64),
    ("x", 'o\u00e9"\\\n\t\x01', 0, "t", None, None, None, "ts", "p"),
])
def test_hashed_header_is_exactly_the_canonical_json(fields):
    import json

    from floorkiosk.domain.events import _head

    assert _head(fields) == json.dumps(list(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_hashed_header_is_exactly_what_json_dumps_writes():
    # Old events are verified against this encoding: a change of encoder must not change one byte.
    from floorkiosk.domain.events import _head

    points = [*range(0, 0x3000), 0xFEFF, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF, 0xD7FF, 0xE000]
    for cp in points:
        s = f"a{chr(cp)}b"
        fields = (s, "origin", 12, s, None, s, s, "2026-11-21T08:00:00.000Z", "0" * 64)
        assert _head(fields) == json.dumps(list(fields), ensure_ascii=False, separators=(",", ":")), hex(cp)
    lone = ("\ud800", "o", 1, "t", None, None, None, "ts", "p")  # orjson refuses it; it still hashes
    assert _head(lone) == json.dumps(list(lone), ensure_ascii=False, separators=(",", ":"))


def test_payloads_are_stored_compact_with_sorted_keys_and_read_back_exactly():
    from decimal import Decimal

    from floorkiosk.domain.events import dumps, loads

    p = {"b": Decimal("9.810"), "a": [1, 2 ** 70, None, True, 1.5], "é": "ü\n"}
    text = dumps(p)  # 2**70 is beyond orjson: written by the standard encoder
    assert text == '{"a":[1,1180591620717411303424,null,true,1.5],"b":"9.810","é":"ü\\n"}'
    assert loads(text) == {"a": [1, 2 ** 70, None, True, 1.5], "b": "9.810", "é": "ü\n"}
    assert dumps({"z": 1, "a": {"d": 2, "c": 3}}) == '{"a":{"c":3,"d":2},"z":1}'


def test_event_ids_are_uuid7_and_grow_with_time():
    import time
    import uuid

    first = ev.new_id()
    time.sleep(0.002)
    later = [ev.new_id() for _ in range(1000)]
    assert len(set(later)) == 1000
    assert all(len(i) == 32 and uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in later)
    assert all(first < i for i in later)  # a later millisecond sorts after
