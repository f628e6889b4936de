"""Events: the small frozen records the journal keeps, and the hash that chains them per origin."""

from __future__ import annotations

import hashlib
import json
import os
import time
from json.encoder import encode_basestring as _encode_str  # the C encoder json.dumps uses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

GENESIS = "0" * 64

# Event types. Job events carry the job id; session events (login/logout) do not.
JOB_CREATED = "job.created"
STAGE_STARTED = "stage.started"
WEIGHT_RECORDED = "weight.recorded"
PHOTO_ATTACHED = "photo.attached"
STAGE_FINISHED = "stage.finished"
STAGE_VERIFIED = "stage.verified"
STAGE_REJECTED = "stage.rejected"
JOB_HELD = "job.held"
JOB_RELEASED = "job.released"
JOB_STONES_ADDED = "job.stones_added"  # stone lines added to a job's card after it was created (at the design bench)
LABEL_PRINTED = "label.printed"  # the job bag's first label; every later one is a reprint, with a reason
LABEL_REPRINTED = "label.reprinted"
BATCH_CREATED = "batch.created"
BATCH_JOINED = "batch.joined"  # a job bag put into a batch that is already open (the job's event)
BATCH_CLOSED = "batch.closed"  # no more job bags join; its pieces are free to join another batch
PERSON_LOGGED_IN = "person.logged_in"
PERSON_LOGGED_OUT = "person.logged_out"
# A supervisor's decision on an event the hub's order made a conflict (hub sites).
CONFLICT_RESOLVED = "conflict.resolved"
# A wrong PIN typed for a person (never the PIN itself): enough of them lock that person's PIN a while.
PIN_REFUSED = "person.pin_refused"
# `db rebuild` found the derived tables other than the journal gives them, and put the journal's in place.
DB_REBUILT = "db.rebuilt"
# The client's private link to one job (the web): made (its token's SHA-256, never the token), withdrawn;
# and a photo of the job a supervisor shows to the client on that link (or no longer shows).
CLIENT_LINK_MADE = "client.link_made"
CLIENT_LINK_REVOKED = "client.link_revoked"
CLIENT_PHOTO_MARKED = "client.photo_marked"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A new event id: a UUID of version 7 (RFC 9562), as 32 hex digits.

    Its first 48 bits are the time in milliseconds, so new ids sort after older ones: the journal's
    unique index of ids grows at its end instead of at a random place for every event, which made a
    bulk append touch (and write back) a page of that index for nearly every event.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 74 random bits are used
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 \
        | (0b10 << 62) | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    return f"{value:032x}"


@dataclass(frozen=True)
class Event:
    """One action in the workshop: who did what, to which job, at which bench, with what evidence."""

    type: str
    job: str | None
    person: str | None
    bench: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    ts: str = field(default_factory=now_iso)
    id: str = field(default_factory=new_id)
    origin: str = ""  # the kiosk (machine) that recorded it; chains are per origin
    origin_seq: int = 0  # 1, 2, 3 … within the origin
    prev_hash: str = GENESIS
    hash: str = ""
    seq: int | None = None  # the local journal's order; not part of the hash

    @classmethod
    def stored(cls, seq: int | None, id: str, origin: str, origin_seq: int, type: str, job: str | None,
               person: str | None, bench: str | None, ts: str, payload_json: str, prev_hash: str,
               hash: str) -> "Event":
        """An event as the journal stores it, its payload text kept exactly (that is what the hash covers).

        Built without the dataclass's frozen __init__ (one setattr per field): a rebuild makes
        millions of these.
        """
        e = _new(cls)
        e.__dict__.update(type=type, job=job, person=person, bench=bench, payload=loads(payload_json), ts=ts, id=id,
                          origin=origin, origin_seq=origin_seq, prev_hash=prev_hash, hash=hash, seq=seq,
                          _pj=payload_json)
        return e

    def canonical(self) -> bytes:
        """The bytes that are hashed: the header fields, then the payload exactly as stored."""
        head = (self.id, self.origin, self.origin_seq, self.type, self.job, self.person, self.bench, self.ts, self.prev_hash)
        return (_head(head) + self.payload_json()).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def chained(self, origin: str, origin_seq: int, prev_hash: str) -> "Event":
        pj = self.payload_json()
        head = (self.id, origin, origin_seq, self.type, self.job, self.person, self.bench, self.ts, prev_hash)
        digest = hashlib.sha256((_head(head) + pj).encode()).hexdigest()
        e = _new(Event)
        # the payload is frozen with the event: serialised once, kept as _pj
        e.__dict__.update(type=self.type, job=self.job, person=self.person, bench=self.bench, payload=self.payload,
                          ts=self.ts, id=self.id, origin=origin, origin_seq=origin_seq, prev_hash=prev_hash,
                          hash=digest, seq=self.seq, _pj=pj)
        return e

    def payload_json(self) -> str:
        pj = self.__dict__.get("_pj")
        return pj if pj is not None else dumps(self.payload)


_new = object.__new__


def _field(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    return _encode_str(v)


def _head(fields: tuple) -> str:
    """The header fields as a JSON array, exactly as json.dumps(ensure_ascii=False) writes it.

    orjson writes the same bytes for every string it accepts (checked character by character in
    the tests) at a tenth of the cost; a string it refuses (a lone surrogate) goes the slow way.
    """
    try:
        return orjson.dumps(fields).decode()
    except TypeError:
        return "[" + ",".join(map(_field, fields)) + "]"


# Options for the stored JSON: keys sorted; dataclasses, datetimes and subclasses of str/int given to
# `default` (str), as json.dumps(default=str) does, rather than orjson's own forms of them.
_OPTS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
         | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS)


def dumps(value: Any) -> str:
    """The one canonical JSON form (compact, keys sorted): what is hashed is exactly what is stored.

    A stored payload is never encoded again (the hash covers the text as stored), so what matters is
    that this is valid, deterministic JSON; orjson writes it, json.dumps takes what orjson refuses
    (integers beyond 64 bits, lone surrogates).
    """
    try:
        return orjson.dumps(value, default=str, option=_OPTS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# Stored JSON is compact (no surrounding whitespace), so raw_decode can skip json.loads' two
# whitespace scans.
_raw_decode = json.JSONDecoder().raw_decode


def loads(text: str) -> Any:
    """Read stored JSON (payloads, states)."""
    return _raw_decode(text)[0]
