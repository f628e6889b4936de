"""A record that cannot lie: the derived tables are checked against the journal, and never trusted by a guardrail."""

from __future__ import annotations

import json
import sqlite3

import pytest
from test_verbs import ring, set_stones, to_setting

from floorkiosk.domain import events as ev
from floorkiosk.workshop import verbs
from floorkiosk.workshop.judge import Blocked

SETTING = "stone-setting"


def fk(shop, *args) -> int:
    from floorkiosk.cli import main

    return main(["--site", str(shop.dir), *args])


def attacker(shop) -> sqlite3.Connection:
    """Someone with sqlite3 on the site's file."""
    return sqlite3.connect(str(shop.journal.path), isolation_level=None)


def set_and_finished(shop) -> str:
    j = ring(shop)
    to_setting(shop, j)
    set_stones(shop, j)  # finished by ben, with its photo and weights: waiting for verification
    return j


def mark_verified(shop, j: str) -> None:
    """Stone setting marked verified by eva in the derived tables only: no event says so."""
    with attacker(shop) as db:
        state = json.loads(db.execute("SELECT state FROM jobs WHERE id = ?", (j,)).fetchone()[0])
        state["stages"][SETTING] |= {"status": "verified", "verified_by": "eva", "verified_at": "2026-01-01T10:00:00Z"}
        db.execute("UPDATE jobs SET state = ? WHERE id = ?", (json.dumps(state), j))
        db.execute("UPDATE job_stages SET status = 'verified', verified_by = 'eva' WHERE job = ? AND stage = ?",
                   (j, SETTING))


def test_an_edited_job_row_does_not_let_polishing_start_and_audit_verify_names_the_table_and_row(shop, capsys):
    j = set_and_finished(shop)
    assert fk(shop, "audit", "verify") == 0
    assert "derived tables ok" in capsys.readouterr().out
    mark_verified(shop, j)
    assert shop.job(j).stage(SETTING).status == "verified"  # the derived row says so ...
    before = shop.journal.count()
    with pytest.raises(Blocked, match="verif"):
        verbs.start(shop, j, "chloe", "polishing")  # ... the journal does not
    assert shop.journal.count() == before
    assert fk(shop, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "DERIVED: table jobs differs from the journal" in err
    assert "DERIVED: table job_stages differs from the journal" in err
    assert f"first differing row: stored (job='{j}', stage='{SETTING}', status='verified'" in err
    assert f"journal gives (job='{j}', stage='{SETTING}', status='done'" in err


def test_the_honest_path_still_lets_polishing_start(shop):
    j = set_and_finished(shop)
    with pytest.raises(Blocked):
        verbs.start(shop, j, "chloe", "polishing")
    verbs.verify(shop, j, "eva", "qc", pin="2468")
    verbs.start(shop, j, "chloe", "polishing")
    assert shop.job(j).stage("polishing").status == "in progress"


def test_rebuild_reports_an_event_the_rules_would_have_refused(shop, capsys):
    j = set_and_finished(shop)
    # a polishing start before verification, appended past the verbs and correctly chained
    bad = shop.journal.append(shop.event(ev.STAGE_STARTED, j, "chloe", "polishing", {"stage": "polishing"}))
    assert fk(shop, "db", "rebuild") == 1
    err = capsys.readouterr().err
    assert f"RULES: event {bad.id} (stage.started on {j}" in err and "would have been refused" in err
    assert "Stone setting" in err and "verified" in err
    assert fk(shop, "audit", "verify") == 1
    assert f"RULES: event {bad.id}" in capsys.readouterr().err


def test_the_honest_journal_has_nothing_the_rules_refuse(shop, capsys):
    j = set_and_finished(shop)
    verbs.verify(shop, j, "eva", "qc", pin="2468")
    verbs.start(shop, j, "chloe", "polishing")
    assert fk(shop, "db", "rebuild") == 0
    assert "RULES" not in capsys.readouterr().err


@pytest.mark.parametrize("payload,why", [
    ("not json", "its payload is not JSON"),
    ("", "its payload is empty"),
    (b"\xff\xfe{}", "its payload is not valid UTF-8"),
    ("[1]", "its payload is not a JSON object (list)"),
])
def test_a_malformed_payload_is_named_and_the_tools_go_on(shop, capsys, payload, why):
    j = set_and_finished(shop)
    victim = [e for e in shop.journal.events(job=j) if e.type == ev.STAGE_STARTED][-1]
    with attacker(shop) as db:
        db.execute("DROP TRIGGER events_no_update")
        if isinstance(payload, bytes):
            db.execute("UPDATE events SET payload = CAST(? AS TEXT) WHERE id = ?", (payload, victim.id))
        else:
            db.execute("UPDATE events SET payload = ? WHERE id = ?", (payload, victim.id))
    assert fk(shop, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert f"TAMPERED: event {victim.id}" in err and why in err
    assert fk(shop, "db", "rebuild") == 1
    err = capsys.readouterr().err
    assert f"UNREADABLE: event {victim.id}" in err and why in err
    assert "Traceback" not in err
    assert shop.job(j) is not None  # the other events were folded


def _ghost_photos(shop, j: str, hashes: list[str]) -> list[ev.Event]:
    """Photo events naming hashes with no file in the store (written past the verbs' own check)."""
    return shop.journal.append_many([ev.Event(ev.PHOTO_ATTACHED, j, "ben", "setting", {"stage": SETTING, "sha256": h})
                                     for h in hashes])


@pytest.mark.parametrize("payload", [None, "not json", b"\xff\xfe{}"], ids=["readable", "not-json", "not-utf8"])
def test_the_photo_check_names_each_missing_photo_once_in_journal_order(shop, payload):
    from floorkiosk.workshop.evidence import audit_photos  # the check, without the rest of audit verify

    j = set_and_finished(shop)
    ghosts = ["b" * 64, "a" * 64, "c" * 64]
    events = _ghost_photos(shop, j, [ghosts[0], ghosts[1], ghosts[0], ghosts[2]])
    if payload is not None:
        # the last photo event unreadable: the grouping query cannot read it, the check goes on without it
        with attacker(shop) as db:
            db.execute("DROP TRIGGER events_no_update")
            db.execute("UPDATE events SET payload = CAST(? AS TEXT) WHERE id = ?", (payload, events[-1].id))
        ghosts.pop()
    said: list[str] = []
    out = audit_photos(shop, say=said.append)
    assert out.problems == [] and out.failed == len(said) == len(ghosts)
    assert out.checked == 1 + len(ghosts)  # the stone setting's own photo, in the store, and each ghost once
    assert [p.split("photo ")[1][:12] for p in said] == [g[:12] for g in ghosts]
    assert all(p.startswith(f"{j} Stone setting: ") and "missing from the photo store" in p for p in said)
    kept = audit_photos(shop)  # without `say`: the problems are kept, the same ones
    assert kept.problems == said and kept.failed == len(said)


def test_a_dropped_table_is_made_again_by_rebuild_and_the_old_file_is_kept(shop, capsys):
    j = set_and_finished(shop)
    with attacker(shop) as db:
        db.execute("DROP TABLE jobs")
    assert fk(shop, "audit", "verify") == 1
    assert "DERIVED: table jobs is missing" in capsys.readouterr().err
    assert fk(shop, "db", "rebuild") == 1
    err = capsys.readouterr().err
    assert "DERIVED: table jobs is missing" in err
    copy = err.split("the file as it was is kept at ")[1].split()[0]
    with sqlite3.connect(copy) as old:
        assert old.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").fetchone() is None
    assert shop.job(j).stage(SETTING).status == "done"
    assert fk(shop, "audit", "verify") == 0
    rebuilt = list(shop.journal.events(types=[ev.DB_REBUILT]))
    assert [t["table"] for t in rebuilt[-1].payload["tables"]] == ["jobs"]
    assert rebuilt[-1].payload["tables"][0]["before"] is None


def test_rebuild_on_differing_state_prints_the_differences_keeps_a_copy_and_records_an_event(shop, capsys):
    j = set_and_finished(shop)
    mark_verified(shop, j)
    assert fk(shop, "db", "rebuild") == 1
    err = capsys.readouterr().err
    assert "DERIVED: table job_stages differs" in err and "DERIVED: table jobs differs" in err
    copy = err.split("the file as it was is kept at ")[1].split()[0]
    with sqlite3.connect(copy) as old:  # the evidence, as it was
        assert old.execute("SELECT status FROM job_stages WHERE job = ? AND stage = ?", (j, SETTING)).fetchone() == ("verified",)
    assert shop.job(j).stage(SETTING).status == "done"
    e = list(shop.journal.events(types=[ev.DB_REBUILT]))[-1]
    changed = {t["table"]: t for t in e.payload["tables"]}
    assert set(changed) == {"jobs", "job_stages"} and e.payload["copy"] == copy
    assert "status='verified'" in changed["job_stages"]["first_before"]
    assert "status='done'" in changed["job_stages"]["first_after"]
    assert fk(shop, "audit", "verify") == 0
    assert fk(shop, "db", "rebuild") == 0


def test_sqlite_refuses_to_change_or_delete_an_event_and_lets_the_hub_acknowledge_one(shop):
    j = ring(shop)
    e = next(iter(shop.journal.events(job=j)))
    with attacker(shop) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE events SET payload = '{}' WHERE id = ?", (e.id,))
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM events WHERE id = ?", (e.id,))
        db.execute("UPDATE events SET hub_seq = 1 WHERE id = ?", (e.id,))  # the hub's acknowledgement, once
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE events SET hub_seq = 2 WHERE id = ?", (e.id,))
    assert shop.journal.verify() == []
