"""Anchors: a journal cut short, rewritten whole, swapped for another site's or emptied fails `audit verify`.

Each attack is done as an attacker would do it, with sqlite3 on the file (dropping the triggers
that refuse UPDATE and DELETE on events) or by copying files; the chain itself stays consistent, so
only the signed checkpoints (the log beside the journal, and the hub) can tell.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from test_verbs import ring, set_stones, to_setting

from floorkiosk.domain import events as ev
from floorkiosk.paths import example_config_dir
from floorkiosk.store import anchors
from floorkiosk.workshop import anchoring
from floorkiosk.workshop.site import init_site, open_shop


def fk(site: Path, *args) -> int:
    from floorkiosk.cli import main

    return main(["--site", str(site), *args])


def verify(site: Path, capsys) -> tuple[int, str, str]:
    rc = fk(site, "audit", "verify")
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def attacker(path: Path) -> sqlite3.Connection:
    """Someone with sqlite3 on the site's file, who first drops the walls that refuse UPDATE and DELETE."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS events_no_update")
    db.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return db


def work(shop, rounds: int = 1) -> None:
    """Real work at the benches: each round a ring taken through setting (a dozen events or so)."""
    for _ in range(rounds):
        j = ring(shop)
        to_setting(shop, j)
        set_stones(shop, j)


def head(shop) -> tuple[int, str]:
    return shop.journal.query("SELECT origin_seq, hash FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1",
                              (shop.journal.origin,))[0]


def log_lines(site: Path) -> list[dict]:
    return [json.loads(x) for x in (site / anchors.LOG_FILE).read_text().splitlines() if x.strip()]


@pytest.fixture
def anchored(shop):
    """A shop with work done and checkpointed twice (as the kiosk does every so many events)."""
    work(shop)
    assert shop.anchoring.checkpoint()
    work(shop)
    assert shop.anchoring.checkpoint()
    return shop


# -- honest journals pass ----------------------------------------------------------------------------

def test_an_honest_journal_passes_with_its_checkpoints(anchored, capsys):
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert "checkpoints ok: 3 in the signed log" in out and "ANCHORS" not in err


def test_events_after_the_last_checkpoint_are_no_fault(anchored, capsys):
    work(anchored)  # recorded after the last checkpoint (a kiosk that lost power before its next one)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert "journal ok" in out


def test_init_makes_the_key_readable_by_its_owner_only_and_starts_the_log(tmp_path):
    site = init_site(tmp_path / "s", origin="bench-a")
    key = site / anchors.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = log_lines(site)
    assert len(first) == 1 and first[0]["genesis"] and first[0]["heads"] == []
    assert first[0]["key"] == anchors.load_key(site).id


def test_the_demo_site_has_its_key_and_log(tmp_path):
    from floorkiosk.workshop.demo import make_demo_site

    make_demo_site(tmp_path / "demo", jobs=3)
    assert stat.S_IMODE((tmp_path / "demo" / anchors.KEY_FILE).stat().st_mode) == 0o600
    shop = open_shop(tmp_path / "demo")
    try:
        last = log_lines(shop.dir)[-1]
        assert last["heads"] == [["demo-bench", *head(shop)]]  # the demo's build ends with its checkpoint
    finally:
        shop.close()


# -- the four attacks -----------------------------------------------------------------------------------

def test_a_truncated_tail_is_named_with_its_checkpoint(anchored, capsys):
    n, _ = head(anchored)
    signed = log_lines(anchored.dir)[-1]["at"]
    assert verify(anchored.dir, capsys)[0] == 0
    with attacker(anchored.journal.path) as db:
        db.execute("DELETE FROM events WHERE origin = ? AND origin_seq > ?", (anchored.journal.origin, n - 13))
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "TAMPERED" not in err  # the chain that is left is consistent in itself: only the anchor sees the cut
    assert (f"ANCHORS: events {n - 12}–{n} of origin test-bench missing: checkpoint at seq {n} signed {signed}"
            in err)
    assert "Traceback" not in err


def test_a_chain_rewritten_whole_and_consistently_is_named_at_its_first_checkpoint(anchored, capsys):
    first = log_lines(anchored.dir)[1]["heads"][0][1]  # the first checkpoint's seq
    with attacker(anchored.journal.path) as db:
        rows = db.execute("SELECT id, origin, origin_seq, type, job, person, bench, ts, payload FROM events"
                          " ORDER BY origin, origin_seq").fetchall()
        prev, out = ev.GENESIS, []
        for r in rows:
            payload = json.loads(r[8])
            if payload.get("grams"):
                payload["grams"] = "9.99"  # a weight that suits the attacker better
            e = ev.Event.stored(None, *r[:8], json.dumps(payload), prev, "").chained(r[1], r[2], prev)
            prev = e.hash
            out.append((e.payload_json(), e.prev_hash, e.hash, r[0]))
        db.executemany("UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE id = ?", out)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "TAMPERED" not in err  # a new chain, consistent in itself
    assert "ANCHORS: no checkpoint in the checkpoint log matches this journal" in err
    assert (f"ANCHORS: event {first} of origin test-bench was replaced: its hash" in err
            and f"the chain was rewritten at or before event {first}" in err)


def test_another_sites_journal_put_in_place_is_named(anchored, tmp_path, capsys):
    other = init_site(tmp_path / "other", origin="other-bench")
    o = open_shop(other)
    work(o, 2)
    o.close()
    anchored.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{anchored.journal.path}{suffix}").unlink(missing_ok=True)
    shutil.copy(other / "journal.db", anchored.journal.path)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "TAMPERED" not in err
    assert ("ANCHORS: this journal is not the one the checkpoint log vouches for: its chains (other-bench) are none"
            " of the checkpointed ones (test-bench); another site's journal.db was put in its place?") in err


def test_another_sites_journal_and_its_checkpoint_log_put_in_place_fail_on_the_key(anchored, tmp_path, capsys):
    other = init_site(tmp_path / "other", origin="test-bench")  # even under the same origin name
    o = open_shop(other)
    work(o)
    o.close()
    anchored.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{anchored.journal.path}{suffix}").unlink(missing_ok=True)
    shutil.copy(other / "journal.db", anchored.journal.path)
    shutil.copy(other / anchors.LOG_FILE, anchored.dir / anchors.LOG_FILE)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    theirs, ours = anchors.load_key(other).id, anchors.load_key(anchored.dir).id
    assert (f"is signed with key {theirs}, not this site's key {ours}: another site's checkpoint log, or the site key"
            " was replaced") in err


def test_every_event_deleted_is_named(anchored, capsys):
    n, _ = head(anchored)
    with attacker(anchored.journal.path) as db:
        db.execute("DELETE FROM events")
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert (f"ANCHORS: the journal holds no events, but the checkpoint log vouches for {n} events in 1 chain "
            f"(test-bench (1–{n})") in err and "every event was deleted" in err


def test_every_event_gone_by_an_empty_journal_copied_in_is_named(anchored, tmp_path, capsys):
    empty = init_site(tmp_path / "empty", origin="test-bench")
    open_shop(empty).close()
    anchored.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{anchored.journal.path}{suffix}").unlink(missing_ok=True)
    shutil.copy(empty / "journal.db", anchored.journal.path)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and "every event was deleted" in err


# -- the checkpoint log itself ------------------------------------------------------------------------

def rewrite_log(site: Path, lines: list[bytes]) -> None:
    (site / anchors.LOG_FILE).write_bytes(b"".join(x + b"\n" for x in lines))


def raw_lines(site: Path) -> list[bytes]:
    return (site / anchors.LOG_FILE).read_bytes().splitlines()


def test_a_checkpoint_changed_in_the_log_fails_its_signature(anchored, capsys):
    lines = raw_lines(anchored.dir)
    last = json.loads(lines[-1])
    last["heads"][0][1] -= 13  # the attacker cuts the journal and makes the log agree
    lines[-1] = anchors.canonical(last)
    rewrite_log(anchored.dir, lines)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert (f"ANCHORS: {anchors.LOG_FILE} line 3 (checkpoint 3, {last['at']}): its signature does not verify with "
            "this site's key; the line was changed") in err


def test_a_line_taken_out_of_the_log_is_named(anchored, capsys):
    anchored.anchoring.checkpoint()
    work(anchored)
    anchored.anchoring.checkpoint()
    lines = raw_lines(anchored.dir)
    rewrite_log(anchored.dir, lines[:2] + lines[3:])
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert f"ANCHORS: {anchors.LOG_FILE} line 3 is checkpoint 4, but 3 was due: checkpoint 3 was taken out" in err


def test_a_line_changed_in_the_middle_breaks_the_logs_own_chain(anchored, capsys):
    lines = raw_lines(anchored.dir)
    # the attacker re-signs nothing: a line moved from elsewhere keeps a good signature but not its place
    moved = json.loads(lines[1])
    lines[1] = lines[2]
    rewrite_log(anchored.dir, lines)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and "ANCHORS:" in err and moved["n"] == 2


def test_a_deleted_checkpoint_log_is_named(anchored, capsys):
    (anchored.dir / anchors.LOG_FILE).unlink()
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "is missing, though the site key" in err


def test_a_deleted_log_started_again_by_a_writer_is_named(anchored, capsys):
    (anchored.dir / anchors.LOG_FILE).unlink()
    work(anchored)
    anchored.anchoring.checkpoint()  # a kiosk goes on writing checkpoints after the log was deleted
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1
    assert "starts the log again on" in err and "the log it followed was deleted" in err


def test_a_line_cut_short_by_a_crash_is_said_and_the_log_goes_on(anchored, capsys):
    path = anchored.dir / anchors.LOG_FILE
    with open(path, "ab") as f:
        f.write(b'{"at":"2026-')  # a write cut short by a power cut
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert "is incomplete (a write cut short by a crash)" in err
    work(anchored)
    assert anchored.anchoring.checkpoint()  # the next checkpoint stands on a line of its own
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert "a write cut short by a crash; the log goes on after it" in err


# -- the key ------------------------------------------------------------------------------------

def secrets_of(site: Path) -> list[str]:
    pem = (site / anchors.KEY_FILE).read_text()
    body = "".join(pem.strip().splitlines()[1:-1])
    from cryptography.hazmat.primitives import serialization

    raw = serialization.load_pem_private_key(pem.encode(), None).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return [body, body[:24], raw.hex(), raw.hex()[:16]]


def test_the_key_is_never_in_any_output(tmp_path):
    site = tmp_path / "s"
    cmd = [sys.executable, "-m", "floorkiosk", "--site", str(site)]
    outs = [subprocess.run([*cmd, "init"], capture_output=True, text=True)]
    outs.append(subprocess.run([*cmd, "job", "add", "--route", "custom-ring", "--design", "Solitaire", "--alloy",
                                "18KY", "--due", "2027-01-10"], capture_output=True, text=True))
    outs.append(subprocess.run([*cmd, "audit", "verify"], capture_output=True, text=True))
    (site / anchors.LOG_FILE).write_text("tampered\n")
    outs.append(subprocess.run([*cmd, "audit", "verify"], capture_output=True, text=True))
    assert [o.returncode for o in outs] == [0, 0, 0, 1]
    said = "".join(o.stdout + o.stderr for o in outs)
    key = anchors.load_key(site)
    said += repr(key) + str(key)
    for secret in secrets_of(site):
        assert secret not in said
    assert "Traceback" not in said


def test_a_key_readable_by_others_fails_verify_until_it_is_private_again(anchored, capsys):
    key = anchored.dir / anchors.KEY_FILE
    os.chmod(key, 0o644)
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 1 and "may be read by others (mode 0644): run chmod 600" in err
    os.chmod(key, 0o600)
    assert verify(anchored.dir, capsys)[0] == 0


def test_a_site_made_before_anchors_gets_its_key_on_first_need_with_a_message(anchored, capsys):
    (anchored.dir / anchors.KEY_FILE).unlink()
    (anchored.dir / anchors.LOG_FILE).unlink()  # as a site made before the journal had anchors
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err
    assert "note: this site had no key to sign its checkpoints: made" in err
    assert stat.S_IMODE((anchored.dir / anchors.KEY_FILE).stat().st_mode) == 0o600
    # anchored from now on (the last line signs the snapshot of the derived tables that check took)
    assert [x for x in log_lines(anchored.dir) if x["heads"]][-1]["heads"] == [["test-bench", *head(anchored)]]
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0 and "note:" not in err


def test_a_kiosk_on_a_site_made_before_anchors_makes_its_key_when_it_first_checkpoints(shop, caplog):
    (shop.dir / anchors.KEY_FILE).unlink()
    (shop.dir / anchors.LOG_FILE).unlink()
    work(shop)
    with caplog.at_level("WARNING", "floorkiosk.workshop.anchoring"):
        assert shop.anchoring.checkpoint()
    assert "this site had no key to sign its checkpoints" in caplog.text
    assert [x.get("genesis", False) for x in log_lines(shop.dir)] == [True, False]


# -- when checkpoints are written ------------------------------------------------------------------

def test_the_writer_checkpoints_every_so_many_events_by_itself(shop, monkeypatch):
    monkeypatch.setattr(anchoring, "EVERY_EVENTS", 5)
    monkeypatch.setattr(anchoring, "MIN_GAP_S", 0.0)
    work(shop)
    n, h = head(shop)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = log_lines(shop.dir)
        if lines[-1]["heads"] and lines[-1]["heads"][0][1] >= n - 5:
            break
        time.sleep(0.02)  # polling the file for the writer's line, with a deadline
    assert log_lines(shop.dir)[-1]["heads"][0][1] >= n - 5


def test_closing_the_site_writes_the_last_checkpoint(shop):
    work(shop)
    n, h = head(shop)
    shop.close()
    assert log_lines(shop.dir)[-1]["heads"] == [["test-bench", n, h]]


def test_a_cli_command_that_records_events_checkpoints_when_it_ends(tmp_path):
    site = init_site(tmp_path / "s", origin="bench-cli")
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), "job", "add", "--route",
                        "custom-ring", "--design", "Solitaire", "--alloy", "18KY", "--due", "2027-01-10", "--count", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert log_lines(site)[-1]["heads"][0][:2] == ["bench-cli", 3]


def test_a_command_that_only_reads_writes_no_checkpoint(anchored):
    before = raw_lines(anchored.dir)
    assert fk(anchored.dir, "job", "list") == 0
    s = open_shop(anchored.dir)
    s.close()
    assert raw_lines(anchored.dir) == before


def test_two_writers_on_one_site_keep_the_log_one_chain(anchored, capsys):
    other = open_shop(anchored.dir)  # a CLI command beside the kiosk
    try:
        for _ in range(3):
            work(anchored)
            anchored.anchoring.checkpoint()
            work(other)
            other.anchoring.checkpoint()
    finally:
        other.close()
    rc, out, err = verify(anchored.dir, capsys)
    assert rc == 0, err


# -- on a hub site: the hub's checkpoints ----------------------------------------------------------

def _unavailable(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {why}")
    pytest.skip(why)


@pytest.fixture
def hub_site(tmp_path):
    """A bench on a real PostgreSQL hub (FLOORKIOSK_TEST_PG): its own hub schema, roles and site folder."""
    dsn = os.environ.get("FLOORKIOSK_TEST_PG")
    if not dsn:
        _unavailable("FLOORKIOSK_TEST_PG is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    import psycopg
    from urllib.parse import quote

    from floorkiosk.domain.config import load_site
    from floorkiosk.store import hub

    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {hub.mask_dsn(dsn)} is not reachable: {' '.join(str(exc).split())[:200]}")
    schema = f"fk_anchors_{uuid.uuid4().hex[:8]}"
    hub_dsn = f"{dsn}{'&' if '?' in dsn else '?'}options={quote('-csearch_path=' + schema)}"
    admin = hub.HubAddress(hub_dsn)
    hub.init_hub(admin, list(load_site(example_config_dir()).benches), tmp_path / "creds")
    hub.register_origin(admin, f"{schema}-setting", "setting")  # as an admin does with `hub add-origin`
    cfg = tmp_path / "config"
    shutil.copytree(example_config_dir(), cfg)
    text = (cfg / "site.toml").read_text()
    (cfg / "site.toml").write_text(text.replace('timezone = "UTC"\n', f'timezone = "UTC"\nhub = "{hub_dsn}"\n', 1))
    site = init_site(tmp_path / "bench", cfg, origin=f"{schema}-setting")
    shutil.copy(tmp_path / "creds" / "setting.toml", site / "hub.toml")
    shops = []

    def opened():
        s = open_shop(site)
        shops.append(s)
        return s

    yield opened, admin
    for s in shops:
        s.close()
    hub.drop_hub(admin)


def hub_rows(admin, sql: str, params=()):
    from floorkiosk.store import hub

    conn = hub.connect(admin, origin="test")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.mark.pg
def test_on_a_hub_site_a_tail_cut_from_the_journal_and_the_log_alike_is_named_by_the_hub(hub_site, capsys):
    from floorkiosk.workshop import sync

    opened, admin = hub_site
    shop = opened()
    s = sync.Syncer(shop)
    work(shop)
    s.sync_once()
    assert shop.anchoring.checkpoint()
    kept = len(raw_lines(shop.dir))
    cut_at, _ = head(shop)
    work(shop)
    s.sync_once()
    s.close()
    assert shop.anchoring.checkpoint()
    n, h = head(shop)
    assert hub_rows(admin, "SELECT origin_seq, hash FROM checkpoints WHERE origin = %s ORDER BY id DESC LIMIT 1",
                    (shop.journal.origin,)) == [(n, h)]
    rc, out, err = verify(shop.dir, capsys)
    assert rc == 0, err
    assert "on the hub" in out
    signed = hub_rows(admin, "SELECT signed_at FROM checkpoints WHERE origin = %s AND origin_seq = %s",
                      (shop.journal.origin, n))[0][0]
    # the attacker cuts both copies beside each other: the journal's tail and the log's last lines
    with attacker(shop.journal.path) as db:
        db.execute("DELETE FROM events WHERE origin = ? AND origin_seq > ?", (shop.journal.origin, cut_at))
    rewrite_log(shop.dir, raw_lines(shop.dir)[:kept])
    rc, out, err = verify(shop.dir, capsys)
    assert rc == 1
    assert (f"ANCHORS: events {cut_at + 1}–{n} of origin {shop.journal.origin} missing: checkpoint at seq {n} "
            f"signed {signed} (the hub)") in err
    assert "checkpoint log line" not in err  # the local copies agree with each other: only the hub can tell


@pytest.mark.pg
def test_a_bench_cannot_take_back_or_forge_a_checkpoint_on_the_hub(hub_site):
    import psycopg

    from floorkiosk.store import hub, hub_anchors

    opened, admin = hub_site
    shop = opened()
    address = hub.address_for(shop.site.settings.hub, shop.dir)
    conn = hub.connect(address, origin=shop.journal.origin)
    try:
        hub.register(conn, shop.journal.origin, "setting")
        work(shop)
        assert shop.anchoring.checkpoint()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM checkpoints")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE checkpoints SET origin_seq = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE checkpoint_keys SET public_key = repeat('0', 64)")
        (shop.dir.parent / "elsewhere").mkdir()
        other = anchors.create_key(shop.dir.parent / "elsewhere")
        with pytest.raises(psycopg.Error):  # another bench's origin: refused by row-level security
            hub_anchors.publish(conn, other, anchors.Head("another-origin", 1, "a" * 64), anchors.now_utc())
        with pytest.raises(hub_anchors.KeyMismatch):  # this origin under another key: the hub keeps the first
            hub_anchors.publish(conn, other, anchors.Head(shop.journal.origin, 1, "a" * 64), anchors.now_utc())
    finally:
        conn.close()
