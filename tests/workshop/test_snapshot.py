"""audit verify checks the derived tables from the last signed snapshot, and still catches what a full fold catches.

After a check that finds everything as the journal gives it, the derived tables are kept in a
snapshot file beside the journal, its sha256 signed in the checkpoint log. The next check folds only
the events after it onto a copy of it and compares that with the stored tables. Each attack is done
as an attacker would do it, with sqlite3 on the files.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from test_anchors import anchored, attacker, fk, head, log_lines, work  # noqa: F401  (anchored: a fixture)
from test_derived import SETTING, mark_verified
from test_verbs import ring, set_stones, to_setting

from floorkiosk.domain import events as ev
from floorkiosk.store import anchors


def verify(site: Path, capsys, *args: str) -> tuple[int, str, str]:
    rc = fk(site, "audit", "verify", *args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def snapshots(site: Path) -> list[Path]:
    return sorted(site.glob(f"{anchors.SNAPSHOT_PREFIX}*.db"))


def signed_snapshots(site: Path) -> list[dict]:
    return [x["snapshot"] for x in log_lines(site) if "snapshot" in x]


def seq(shop) -> int:
    return shop.journal.query("SELECT max(seq) FROM events")[0][0]


def snapshot_taken(shop, capsys) -> Path:
    """A first check (the whole journal folded), which keeps the snapshot the next one starts from."""
    rc, out, err = verify(shop.dir, capsys)
    assert rc == 0, err
    assert "(the whole journal folded)" in out
    assert f"snapshot: the derived tables at journal seq {seq(shop)} kept as" in out
    [path] = snapshots(shop.dir)
    return path


# -- the honest path --------------------------------------------------------------------------------

def test_a_check_after_a_snapshot_folds_only_the_events_after_it(anchored, capsys):
    path = snapshot_taken(anchored, capsys)
    at = seq(anchored)
    signed = signed_snapshots(anchored.dir)[-1]
    assert signed["file"] == path.name and signed["seq"] == at and len(signed["sha256"]) == 64
    work(anchored)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert f"(the snapshot at journal seq {at} and the {seq(anchored) - at} events after it)" in out
    # the check that passed keeps the newer snapshot, signed; the older file is removed
    assert snapshots(anchored.dir) == [anchored.dir / f"{anchors.SNAPSHOT_PREFIX}{seq(anchored)}.db"]
    assert signed_snapshots(anchored.dir)[-1]["seq"] == seq(anchored)
    # nothing new since: nothing to fold, no new snapshot
    lines = len(log_lines(anchored.dir))
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0 and "and the 0 events after it" in out and "snapshot:" not in out
    assert len(log_lines(anchored.dir)) == lines


def test_full_folds_the_whole_journal_though_there_is_a_snapshot(anchored, capsys):
    snapshot_taken(anchored, capsys)
    work(anchored)
    rc, out, err = verify(anchored.dir, capsys, "--full")
    assert rc == 0, err
    assert "note: --full: the whole journal is folded" in err
    assert "(the whole journal folded)" in out


# -- derived rows edited by hand ----------------------------------------------------------------------

def test_a_row_edited_after_the_snapshot_is_caught_whether_the_tail_touched_its_job_or_not(anchored, capsys):
    j = ring(anchored)
    to_setting(anchored, j)
    set_stones(anchored, j)  # all of this job's events before the snapshot
    snapshot_taken(anchored, capsys)
    work(anchored)  # a tail of other jobs
    mark_verified(anchored, j)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "DERIVED: table job_stages differs from the journal" in err
    assert f"first differing row: stored (job='{j}', stage='{SETTING}', status='verified'" in err
    assert f"journal gives (job='{j}', stage='{SETTING}', status='done'" in err
    assert "--full" not in err and "whole journal" not in err  # found from the snapshot


def test_a_row_of_a_job_the_tail_goes_on_with_edited_by_hand_is_caught(anchored, capsys):
    j = ring(anchored)
    to_setting(anchored, j)
    snapshot_taken(anchored, capsys)
    set_stones(anchored, j)  # the tail: this job's stone setting, finished and waiting for verification
    mark_verified(anchored, j)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert f"first differing row: stored (job='{j}', stage='{SETTING}', status='verified'" in err


def test_a_row_edited_before_the_last_snapshot_is_caught_and_never_kept_in_a_snapshot(anchored, capsys):
    j = ring(anchored)
    to_setting(anchored, j)
    set_stones(anchored, j)
    first = snapshot_taken(anchored, capsys)
    mark_verified(anchored, j)  # edited by hand ...
    work(anchored)  # ... then work goes on, and checks are made
    for _ in range(2):
        rc, out, err = verify(anchored.dir, capsys)
        assert rc == 1
        assert f"first differing row: stored (job='{j}', stage='{SETTING}', status='verified'" in err
        # a check that finds a difference keeps no snapshot: the edit is never signed as the journal's word
        assert snapshots(anchored.dir) == [first] and "snapshot:" not in out
    assert len(signed_snapshots(anchored.dir)) == 1
    # once the table is made right again (db rebuild), the check passes and a snapshot is kept again
    assert fk(anchored.dir, "db", "rebuild") == 1
    capsys.readouterr()
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert snapshots(anchored.dir) != [first] and len(signed_snapshots(anchored.dir)) == 2


def test_an_event_the_rules_would_have_refused_is_still_said_after_the_snapshot_that_folded_it(anchored, capsys):
    j = ring(anchored)
    to_setting(anchored, j)
    set_stones(anchored, j)
    bad = anchored.journal.append(anchored.event(ev.STAGE_STARTED, j, "chloe", "polishing", {"stage": "polishing"}))
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and f"RULES: event {bad.id}" in err
    assert snapshots(anchored.dir)  # the tables are as the journal gives them: the snapshot is kept
    work(anchored)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and f"RULES: event {bad.id} (stage.started on {j}" in err and "would have been refused" in err


# -- the journal's tail ---------------------------------------------------------------------------------

def test_a_truncated_tail_after_the_snapshot_is_still_caught(anchored, capsys):
    snapshot_taken(anchored, capsys)
    work(anchored)
    assert anchored.anchoring.checkpoint()
    n, _ = head(anchored)
    with attacker(anchored.journal.path) as db:
        db.execute("DELETE FROM events WHERE origin = ? AND origin_seq > ?", (anchored.journal.origin, n - 3))
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert f"ANCHORS: events {n - 2}–{n} of origin test-bench missing" in err
    assert "DERIVED: table" in err  # the stored tables hold what the deleted events did


def test_an_edited_event_after_and_before_the_snapshot_is_still_caught(anchored, capsys):
    snapshot_taken(anchored, capsys)
    at = seq(anchored)
    work(anchored)
    with attacker(anchored.journal.path) as db:
        for s in (at - 5, at + 3):
            p = json.loads(db.execute("SELECT payload FROM events WHERE seq = ?", (s,)).fetchone()[0])
            p["note"] = "changed"
            db.execute("UPDATE events SET payload = ? WHERE seq = ?", (json.dumps(p), s))
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert err.count("TAMPERED:") >= 1 and "was edited" in err
    origin_seqs = [r[0] for r in anchored.journal.query("SELECT origin_seq FROM events WHERE seq IN (?, ?) ORDER BY seq",
                                                        (at - 5, at + 3))]
    assert f"#{origin_seqs[0]}" in err  # the chain names the first break, before the snapshot


# -- the snapshot itself ------------------------------------------------------------------------------

def test_a_snapshot_changed_to_hide_an_edit_is_said_and_the_whole_journal_folded(anchored, capsys):
    j = ring(anchored)
    to_setting(anchored, j)
    set_stones(anchored, j)
    path = snapshot_taken(anchored, capsys)
    mark_verified(anchored, j)
    snap = sqlite3.connect(str(path), isolation_level=None)  # the same edit in the snapshot
    snap.execute("ATTACH DATABASE ? AS live", (str(anchored.journal.path),))
    snap.execute("UPDATE main.jobs SET state = (SELECT state FROM live.jobs WHERE id = ?) WHERE id = ?", (j, j))
    snap.execute("UPDATE main.job_stages SET status = 'verified', verified_by = 'eva' WHERE job = ? AND stage = ?",
                 (j, SETTING))
    snap.close()
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert (f"SNAPSHOT: the snapshot {path} does not match the sha256 signed for it (checkpoint log line "
            in err)
    assert "the file was changed; the whole journal is folded instead" in err
    assert f"first differing row: stored (job='{j}', stage='{SETTING}', status='verified'" in err


def test_a_snapshot_changed_but_harmless_still_fails_the_check_once_and_is_replaced(anchored, capsys):
    path = snapshot_taken(anchored, capsys)
    with open(path, "ab") as f:
        f.write(b"\0")
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and "does not match the sha256 signed for it" in err
    assert "(the whole journal folded)" not in out  # exit 1: the ok lines are not printed
    work(anchored)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err  # the full fold that passed kept a new snapshot
    assert "(the snapshot at journal seq" in out


def test_a_signed_line_changed_to_vouch_for_another_file_fails_its_signature(anchored, capsys):
    path = snapshot_taken(anchored, capsys)
    log = anchored.dir / anchors.LOG_FILE
    text = log.read_text().splitlines()
    line = json.loads(text[-1])
    line["snapshot"]["sha256"] = "0" * 64
    text[-1] = json.dumps(line, sort_keys=True, separators=(",", ":"))
    log.write_text("\n".join(text) + "\n")
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and "its signature does not verify with this site's key; the line was changed" in err
    assert "SNAPSHOT:" not in err  # the changed line vouches for nothing: no snapshot is used
    assert path.exists()


def test_a_missing_snapshot_is_said_and_the_whole_journal_folded(anchored, capsys):
    path = snapshot_taken(anchored, capsys)
    path.unlink()
    work(anchored)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert f"note: the snapshot {path} signed (checkpoint log line" in err and "is missing: the whole journal is folded" in err
    assert "(the whole journal folded)" in out
    assert snapshots(anchored.dir) == [anchored.dir / f"{anchors.SNAPSHOT_PREFIX}{seq(anchored)}.db"]


def test_a_row_doubled_in_place_of_another_is_caught_though_the_count_is_the_same(anchored, capsys):
    snapshot_taken(anchored, capsys)
    work(anchored)
    with attacker(anchored.journal.path) as db:
        # the stored table's key dropped, one row written twice and another deleted: as many rows as before
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'kpi_stages'"
                                    " AND sql IS NOT NULL").fetchall():
            db.execute(f'DROP INDEX "{name}"')
        create = db.execute("SELECT sql FROM sqlite_master WHERE name = 'kpi_stages'").fetchone()[0]
        db.execute("ALTER TABLE kpi_stages RENAME TO old_kpi_stages")
        db.execute(create.split("(", 1)[0] + "(" + ", ".join(
            f'"{r[1]}"' for r in db.execute("PRAGMA table_info(old_kpi_stages)")) + ")")
        rows = db.execute("SELECT * FROM old_kpi_stages").fetchall()
        assert len(rows) >= 2
        db.executemany(f"INSERT INTO kpi_stages VALUES ({', '.join('?' * len(rows[0]))})", [rows[0], *rows[:-1]])
        db.execute("DROP TABLE old_kpi_stages")
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "DERIVED: table kpi_stages differs from the journal" in err
