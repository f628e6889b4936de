"""Anchors for the journal's hash chains: a site key outside the database and a signed, chained checkpoint log.

A hash chain shows an edited event, but not a chain cut short, rewritten whole, swapped for another
site's or emptied: each of those is a chain that is consistent in itself. A checkpoint is a signed
statement "chain X had N events and its last hash was H at time T". They are written, one JSON line
each, to an append-only log beside the journal (``journal.checkpoints``); each line holds the
sha256 of the line before it, so a line taken out or changed in the middle shows too. The key that
signs them (Ed25519) lives in a file of its own (``site.key``, mode 0600), never in the database
and never printed. `compare` checks a journal against the checkpoints and says, in plain words,
which events are missing or were replaced.

What the anchors cannot do: someone who holds the key and every copy (journal, checkpoint log and,
on hub sites, the hub) can rewrite all of them consistently. See the README.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from typing import TYPE_CHECKING

from floorkiosk.errors import FloorkioskError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "site.key"  # beside journal.db, in the site folder; mode 0600
LOG_FILE = "journal.checkpoints"  # beside journal.db: one signed JSON line per checkpoint
SNAPSHOT_PREFIX = "journal.snapshot-"  # beside journal.db: the derived tables as folded up to a sequence
NO_LINE = "0" * 64  # what the first line of a log follows
MAX_SAID = 8  # problems of one kind said one by one; past that, counted


class AnchorError(FloorkioskError):
    """The site key cannot be read or made; the message never holds the key."""


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def canonical(obj: dict) -> bytes:
    """The bytes that are signed and hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- the site key ---------------------------------------------------------------------------------

class SiteKey:
    """The site's signing key (Ed25519). Its repr and str name only its id, never the key."""

    def __init__(self, private: Ed25519PrivateKey, path: Path) -> None:
        from cryptography.hazmat.primitives import serialization  # when a key is used: start-up cost

        self._private = private
        self.path = path
        self.public_hex = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        self.id = key_id(self.public_hex)

    def __repr__(self) -> str:
        return f"SiteKey(id={self.id}, file={self.path})"

    __str__ = __repr__

    def sign(self, message: bytes) -> str:
        return self._private.sign(message).hex()


def key_id(public_hex: str) -> str:
    """A short name for a public key, as it is written in each checkpoint: 16 hex digits of its sha256."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def signed_by(public_hex: str, message: bytes, sig_hex: str) -> bool:
    """True when `sig_hex` is a signature of `message` by the key whose public half is `public_hex`."""
    from cryptography.exceptions import InvalidSignature  # when a key is used: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(sig_hex), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def create_key(site_dir: str | Path) -> SiteKey:
    """Make the site's key file (refused if there is one): created 0600, readable by its owner only."""
    from cryptography.hazmat.primitives import serialization  # when a key is made: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(site_dir) / KEY_FILE
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AnchorError(f"{path} exists already: a site keeps the key it was made with") from None
    except OSError as exc:
        raise AnchorError(f"cannot create the site key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, 0o600)  # whatever the umask did
    return SiteKey(private, path)


def load_key(site_dir: str | Path) -> SiteKey | None:
    """The site's key, or None when the site has none yet (made before anchors existed)."""
    path = Path(site_dir) / KEY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorError(f"cannot read the site key {path}: {exc.strerror}") from None
    from cryptography.hazmat.primitives import serialization  # when a key is used: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        private = None
    if not isinstance(private, Ed25519PrivateKey):
        raise AnchorError(f"{path} is not a floorkiosk site key (an Ed25519 private key in PEM form)")
    return SiteKey(private, path)


def key_mode_problem(key: SiteKey) -> str | None:
    """Why the key file is too open, or None (it must be readable by its owner only)."""
    mode = os.stat(key.path).st_mode & 0o777
    if mode & 0o077:
        return f"the site key {key.path} may be read by others (mode {mode:04o}): run chmod 600 {key.path}"
    return None


# -- the journal's chain heads ---------------------------------------------------------------------

@dataclass(frozen=True)
class Head:
    """A chain's last event: its origin, its number in that chain, and its hash."""

    origin: str
    seq: int
    hash: str


def chain_heads(conn: sqlite3.Connection) -> dict[str, Head]:
    """Every chain's head, read on the (origin, origin_seq) index: one step per chain, not per event."""
    out: dict[str, Head] = {}
    row = conn.execute("SELECT origin FROM events ORDER BY origin LIMIT 1").fetchone()
    while row is not None:
        origin = row[0]
        seq, h = conn.execute("SELECT origin_seq, hash FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1",
                              (origin,)).fetchone()
        out[origin] = Head(origin, seq, h)
        row = conn.execute("SELECT origin FROM events WHERE origin > ? ORDER BY origin LIMIT 1", (origin,)).fetchone()
    return out


def hash_at(conn: sqlite3.Connection, origin: str, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM events WHERE origin = ? AND origin_seq = ?", (origin, seq)).fetchone()
    return row[0] if row else None


# -- the checkpoint log ----------------------------------------------------------------------------

def _line_sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _last_line(f) -> tuple[bytes | None, bool]:
    """(the last complete line of an open log, whether the file ends inside a line)."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return None, False
    size = 4096
    while True:
        start = max(0, end - size)
        f.seek(start)
        tail = f.read(end - start)
        torn = not tail.endswith(b"\n")
        body = tail if not torn else tail[:tail.rfind(b"\n") + 1] if b"\n" in tail else b""
        lines = body.rstrip(b"\n").split(b"\n") if body else []
        if len(lines) >= 2 or start == 0:
            return (lines[-1] if lines and lines[-1] else None), torn
        size *= 4


def append_checkpoint(log_path: str | Path, key: SiteKey, heads: Iterable[Head], at: str | None = None,
                      genesis: bool = False, snapshot: dict | None = None) -> dict:
    """Sign the heads and append them as one line of the log; durable (fsync) when it returns.

    `snapshot`: a snapshot of the derived tables (its file, the journal sequence and the hash of the
    event it was folded up to, the file's sha256), signed with the rest of the line.

    `genesis`: the log's first line, made with the key. A first line that is not (the log was
    deleted and a writer started it again) says so ("restarted"), and the check names it.

    The file is locked while its last line is read and the new one written, so two processes on one
    site (the kiosk and a CLI command) never write two lines that follow the same one.
    """
    path = Path(log_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "r+b", buffering=0) as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        last, torn = _last_line(f)
        n, prev = 1, NO_LINE
        if last is not None:
            try:
                n = int(json.loads(last)["n"]) + 1
            except (ValueError, KeyError, TypeError):
                n = _count_lines(f) + 1
            prev = _line_sha(last)
        line = {"n": n, "at": at or now_utc(), "key": key.id, "prev": prev,
                "heads": [[h.origin, h.seq, h.hash] for h in sorted(heads, key=lambda h: h.origin)]}
        if snapshot is not None:
            line["snapshot"] = snapshot
        if genesis:
            line["genesis"] = True
        elif last is None and not torn:
            line["restarted"] = True
        line["sig"] = key.sign(canonical(line))
        raw = canonical(line)
        # a line cut short by a crash is closed first, so the new one stands on a line of its own
        f.write((b"\n" if torn else b"") + raw + b"\n")
        os.fsync(f.fileno())
    return line


def _count_lines(f) -> int:
    f.seek(0)
    return sum(1 for _ in f)


@dataclass(frozen=True)
class Point:
    """One checkpointed head, and where it was read (a line of the log, or the hub)."""

    seq: int
    hash: str
    at: str
    source: str


@dataclass
class LogReading:
    """What a checkpoint log holds and what is wrong with it."""

    points: dict[str, list[Point]] = field(default_factory=dict)  # origin -> its checkpoints, in log order
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: int = 0
    last_at: str | None = None
    snapshot: dict | None = None  # the last signed snapshot, with "line" (where it was read) added


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, ends with a newline) of each line."""
    with open(path, "rb") as f:
        for i, raw in enumerate(f, 1):
            ended = raw.endswith(b"\n")
            yield i, raw.rstrip(b"\n"), ended


def read_log(log_path: str | Path, key: SiteKey) -> LogReading:
    """Every line of the log checked: its number, that it follows the line before it, its key and its signature.

    A line that fails is said and not taken as evidence; the lines after it are still checked on
    their own (a line that follows a bad one is judged against it, so one cut is said once).
    """
    path = Path(log_path)
    out = LogReading()
    name = path.name
    said = {"cut": 0, "sig": 0, "key": 0, "bad": 0}

    def problem(kind: str, text: str) -> None:
        said[kind] += 1
        if said[kind] <= MAX_SAID:
            out.problems.append(text)
        elif said[kind] == MAX_SAID + 1:
            out.problems.append(f"{name}: more lines like the one above; only the first {MAX_SAID} are named")

    expect_n, prev_sha = 1, NO_LINE
    before_bad: tuple[int, str] | None = None  # (n, sha) of the last good line before an unreadable one
    for i, raw, ended in _lines(path):
        out.lines = i
        if not raw.strip():
            problem("bad", f"{name} line {i} is empty: the log was edited")
            continue
        try:
            line = json.loads(raw)
            n, at, heads, kid, prev, sig = (line["n"], line["at"], line["heads"], line["key"], line["prev"],
                                            line["sig"])
            heads = [(str(o), int(s), str(h)) for o, s, h in heads]
            if not isinstance(n, int) or not isinstance(sig, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            if not ended:
                out.notes.append(f"{name} line {i} is incomplete (a write cut short by a crash); it vouches for nothing")
            else:
                before_bad = before_bad or (expect_n - 1, prev_sha)
                problem("bad", f"{name} line {i} is not a checkpoint (changed or damaged)")
            continue
        this_sha = _line_sha(raw)
        if before_bad is not None and n == before_bad[0] + 1 and prev == before_bad[1]:
            # the unreadable line(s) before this one were a torn write: this line follows the last good one
            if out.problems and out.problems[-1].startswith(f"{name} line {i - 1} is not a checkpoint"):
                out.problems.pop()
                said["bad"] -= 1
                out.notes.append(f"{name} line {i - 1} is a write cut short by a crash; the log goes on after it")
            expect_n, prev_sha = n, prev
        before_bad = None
        good = True
        if n != expect_n:
            if n == expect_n + 1:
                why = f"checkpoint {expect_n} was taken out"
            elif n > expect_n:
                why = f"checkpoints {expect_n}–{n - 1} were taken out"
            else:
                why = "lines were copied in or renumbered"
            problem("cut", f"{name} line {i} is checkpoint {n}, but {expect_n} was due: {why}")
            good = False
        elif prev != prev_sha:
            problem("cut", f"{name} line {i} (checkpoint {n}) does not follow the line before it: a line was taken out, "
                           "changed or put in")
            good = False
        unsigned = {k: v for k, v in line.items() if k != "sig"}
        if kid != key.id:
            problem("key", f"{name} line {i} (checkpoint {n}, {at}) is signed with key {kid}, not this site's key "
                           f"{key.id}: another site's checkpoint log, or the site key was replaced")
            good = False
        elif not signed_by(key.public_hex, canonical(unsigned), sig):
            problem("sig", f"{name} line {i} (checkpoint {n}, {at}): its signature does not verify with this site's "
                           "key; the line was changed")
            good = False
        if line.get("restarted") and good:
            problem("cut", f"{name} line {i} (checkpoint {n}) starts the log again on {at}: the log it followed was "
                           "deleted, and nothing vouches for the events checkpointed before then")
        expect_n, prev_sha = n + 1, this_sha
        if good:
            out.last_at = at
            if isinstance(line.get("snapshot"), dict):
                out.snapshot = {**line["snapshot"], "line": i, "at": at}
            for o, s, h in heads:
                out.points.setdefault(o, []).append(Point(s, h, at, f"checkpoint log line {i}"))
    return out


# -- the journal against its checkpoints -----------------------------------------------------------

def compare(conn: sqlite3.Connection, points: dict[str, list[Point]], where: str = "the checkpoint log",
            tail_of: Iterable[str] | None = None) -> list[str]:
    """What the journal on `conn` lacks or holds differently from the checkpoints, in plain words.

    `tail_of`: the chains whose every checkpointed event must be here (default: every chain); for
    others (another bench's chain on a hub site, pulled as far as it was) only the events this
    journal holds are compared.
    """
    points = {o: ps for o, ps in points.items() if ps}
    if not points:
        return []
    tail_of = set(points) if tail_of is None else set(tail_of)
    heads = chain_heads(conn)
    problems: list[str] = []
    if not heads:
        vouched = {o: max(ps, key=lambda p: p.seq) for o, ps in points.items()}
        last = max(vouched.values(), key=lambda p: p.at)
        n = sum(p.seq for o, p in vouched.items() if o in tail_of)
        if n:
            chains = ", ".join(f"{o} (1–{p.seq})" for o, p in sorted(vouched.items()) if o in tail_of)
            return [f"the journal holds no events, but {where} vouches for {n} events in {len(vouched)} chain"
                    f"{'s' if len(vouched) != 1 else ''} ({chains}; the last checkpoint signed {last.at}): "
                    "every event was deleted"]
        return []
    matched, replaced = set(), set()
    for origin, ps in sorted(points.items()):
        have = heads[origin].seq if origin in heads else 0
        top = max(ps, key=lambda p: (p.seq, p.at))
        if origin in tail_of and have < top.seq:
            what = f"all events 1–{top.seq}" if have == 0 else (
                f"event {top.seq}" if have + 1 == top.seq else f"events {have + 1}–{top.seq}")
            problems.append(f"{what} of origin {origin} missing: checkpoint at seq {top.seq} signed {top.at} "
                            f"({where if where != 'the checkpoint log' else top.source})")
        for p in sorted(ps, key=lambda p: p.seq):
            if p.seq > have:
                break
            h = hash_at(conn, origin, p.seq)
            if h != p.hash:
                problems.append(f"event {p.seq} of origin {origin} was replaced: its hash {str(h)[:12]}… differs from "
                                f"the checkpoint at seq {p.seq} signed {p.at} ({p.source}, {p.hash[:12]}…); the chain "
                                f"was rewritten at or before event {p.seq}")
                replaced.add(origin)
                break
            matched.add(origin)
    if not matched and not set(heads) & set(points):
        problems.insert(0, f"this journal is not the one {where} vouches for: its chains "
                           f"({', '.join(sorted(heads))}) are none of the checkpointed ones "
                           f"({', '.join(sorted(points))}); another site's journal.db was put in its place?")
    elif not matched and replaced:
        problems.insert(0, f"no checkpoint in {where} matches this journal: every chain it vouches for was "
                           "rewritten, or the file was swapped for another")
    return problems
