"""Events: the small frozen records the journal keeps, and the hash that chains them per origin."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring as _encode_str  # the C encoder json.dumps uses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

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
LABEL_REPRINTED = "label.reprinted"
BATCH_CREATED = "batch.created"
PERSON_LOGGED_IN = "person.logged_in"
PERSON_LOGGED_OUT = "person.logged_out"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


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
        e = Event(self.type, self.job, self.person, self.bench, self.payload, self.ts, self.id, origin, origin_seq,
                  prev_hash, digest, self.seq)
        object.__setattr__(e, "_pj", pj)  # the payload is frozen with the event: serialise it once
        return e

    def payload_json(self) -> str:
        pj = self.__dict__.get("_pj")
        return pj if pj is not None else _dumps(self.payload)


def _field(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    return _encode_str(v)


def _head(fields: tuple) -> str:
    """The header fields as a JSON array, exactly as json.dumps would write it, at a fraction of the cost."""
    return "[" + ",".join(map(_field, fields)) + "]"


def _dumps(value: Any) -> str:
    """The one canonical JSON form: what is hashed is exactly what is stored."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
