"""The declared payload of every event type: which keys it has, which it must have, and what each holds.

One shape per type, as a TypedDict: the journal's readers (folds, history lines, reports) read these
keys and no others, and `Shop.event` refuses a payload that does not fit its shape, so a verb cannot
record a key nobody reads or forget one a reader needs. Weights and carats are decimal strings, so
what is hashed is exactly what was weighed.
"""

import functools
import types
import typing
from typing import Any, Required, TypedDict

from floorkiosk.domain import calendar as dc
from floorkiosk.domain import events as ev
from floorkiosk.domain import kpi as dk
from floorkiosk.domain import metal as dm
from floorkiosk.domain import qc as dq
from floorkiosk.domain import spc as dspc
from floorkiosk.domain import standards as dstd
from floorkiosk.domain import stones as ds
from floorkiosk.domain import tooling as dtool


class Override(TypedDict, total=False):
    """A supervisor's override recorded with the event it let through, and the reasons it lifted."""

    by: Required[str]
    code: Required[str]
    note: str
    reasons: list[str]


class _Judged(TypedDict, total=False):
    stage: str
    override: Override


class JobCreated(TypedDict, total=False):
    route: Required[str]
    design: str
    alloy: str
    due: str
    client: str
    client_initials: str
    spec: str
    stones: list[dict[str, Any]]
    priority: str
    batch: str
    standards: int  # the version of the standards the job runs under (domain/standards.py)
    price: str  # what the client pays, in [costs] currency (a decimal string)


class JobStonesAdded(TypedDict, total=False):
    stones: Required[list[dict[str, Any]]]  # the new lines, after those on the card: count, shape, kind, ct, cert


class StageStarted(_Judged, total=False):
    pass


class ManualWeight(TypedDict):
    by: str  # the supervisor whose badge approved a weight typed by hand
    reason: str


class WeightRecorded(_Judged, total=False):
    phase: Required[str]  # "in" or "out"
    grams: Required[str]
    raw: str  # the scale's line as read, or where a typed weight came from
    unit: str
    source: str  # "scale" or "manual" (older events say neither)
    profile: str  # the scale's protocol profile, for a scale reading
    stable: bool  # the scale said the reading was stable
    manual: ManualWeight
    stones_ct: str  # carats of stones set in the piece and weighed with it (the metal is grams less ct x 0.2)


class PhotoAttached(_Judged, total=False):
    sha256: Required[str]


class StageFinished(_Judged, total=False):
    checklist: list[str]


class StageVerified(_Judged, total=False):
    pass


class StageRejected(_Judged, total=False):
    defect: str
    reason: str
    redo: str | None


class JobHeld(_Judged, total=False):
    reason: Required[str]
    auto: bool  # put on hold by a rule (a loss beyond tolerance, a failed batch), not a person
    loss_pct: str
    qc_batch: str
    quality: bool  # False: a hold for a reason other than the piece's quality, released by the one who placed it


class JobReleased(_Judged, total=False):
    note: str
    auto: bool
    qc_batch: str | None


class LabelPrinted(TypedDict, total=False):
    copies: int


class LabelReprinted(TypedDict, total=False):
    reason: Required[str]


class BatchCreated(TypedDict, total=False):
    batch: Required[str]
    design: str
    jobs: list[str]  # on the batch's own event; each job's event names only the batch


class BatchJoined(TypedDict, total=False):
    batch: Required[str]


class BatchClosed(TypedDict, total=False):
    batch: Required[str]
    note: str


class LoggedIn(TypedDict, total=False):
    pass


class LoggedOut(TypedDict, total=False):
    why: str


class PinRefused(TypedDict, total=False):
    what: str  # what the PIN was asked for, if known


class TableChange(TypedDict, total=False):
    """One derived table a rebuild changed: the digests before and after, and the first row that differed."""

    table: Required[str]
    before: str | None  # sha256 of the stored rows; None: the table was missing
    after: Required[str]
    first_before: str  # the first differing row as stored, in words
    first_after: str  # ... and as the journal gives it


class Refusal(TypedDict):
    event: str
    job: str
    type: str
    reasons: list[str]


class DbRebuilt(TypedDict, total=False):
    tables: Required[list[TableChange]]
    copy: Required[str]  # where the file was copied, as it stood, before the tables were replaced
    refused: list[Refusal]  # events the guardrails would have refused where they stand in the journal
    unreadable: list[str]  # events left out because their payload could not be read: "id: why"


class ConflictResolved(TypedDict, total=False):
    event: Required[str]
    decision: Required[str]  # "accept" or "dismiss"
    note: str


class JobDelayed(TypedDict, total=False):
    by: Required[str]  # "client" or "shop"
    new_due: Required[str]
    old_due: str  # the promise it moves from
    reason: str
    supervisor: str  # the supervisor (person id) whose badge approved it: a late client delay needs one
    late_days: int  # a client delay recorded after the promise had passed: how late the work was then


class QcInspected(TypedDict, total=False):
    stage: Required[str]
    plan: str | None
    result: Required[str]
    selection: str
    sampled: bool
    batch: str | None
    checks: list[dict[str, Any]]
    reference_grams: str | None
    defect: str
    defects: list[str]
    redo: str | None
    reason: str


class QcSampleDrawn(TypedDict, total=False):
    batch: Required[str]
    stage: Required[str]
    plan: str
    pieces: int
    n: int
    drawn: list[str]
    rule: str


class QcBatchEscalated(TypedDict, total=False):
    batch: Required[str]
    stage: str
    job: str
    defect: str


class StonesIssued(TypedDict, total=False):
    parcel: Required[str]
    line: int
    kind: str
    shape: str
    count: int
    ct: str
    cert: str
    setter: str


class StonesMoved(TypedDict, total=False):
    parcel: Required[str]
    count: int
    ct: str
    ct_estimated: bool
    setter: str
    note: str


class StonesDiscrepancy(TypedDict, total=False):
    parcel: Required[str]
    problem: str
    missing: int


class LotReceived(TypedDict, total=False):
    lot: Required[str]
    alloy: Required[str]
    grams: Required[str]
    supplier: str
    note: str
    unit: str


class MetalIssued(TypedDict, total=False):
    alloy: Required[str]
    grams: Required[str]
    bench: str | None
    person: str | None
    lot: str | None
    unit: str


class MetalReturned(TypedDict, total=False):
    alloy: Required[str]
    grams: Required[str]
    category: str
    bench: str | None
    person: str | None
    stage: str | None
    to: str
    job: str | None
    unit: str


class RefinerSent(TypedDict, total=False):
    alloy: Required[str]
    grams: Required[str]
    category: str
    shipment: str
    unit: str


class RefinerReturned(TypedDict, total=False):
    metal: Required[str]
    fine_grams: Required[str]
    shipment: str | None
    alloy: str
    grams: str
    lot: str  # the stock lot the returned metal comes back as, when it comes back as an alloy


class TreeBuilt(TypedDict, total=False):
    tree: Required[str]
    alloy: str
    method: str
    jobs: list[str]
    wax_grams: str


class TreeJoined(TypedDict, total=False):
    tree: Required[str]


class TreeCast(TypedDict, total=False):
    tree: Required[str]
    metal_in: str
    tree_grams: str | None
    unit: str


class PieceCut(TypedDict, total=False):
    tree: Required[str]
    grams: str
    unit: str


class TreeCut(TypedDict, total=False):
    tree: Required[str]
    sprue: str
    buttons: str
    to: str
    pieces: dict[str, str]
    unit: str


class SpcLimits(TypedDict, total=False):
    center: Required[float]
    ucl: Required[float]
    lcl: Required[float]
    sigma: Required[float]
    r_center: float
    r_ucl: float
    r_lcl: float
    n: int
    subgroup: int
    within: float


class SpcBaselineFixed(TypedDict, total=False):
    name: Required[str]  # the characteristic, e.g. "polishing.thickness" or "loss.casting"
    first: Required[str]  # the first and last point's time: the points the limits rest on
    last: Required[str]
    points: Required[int]
    upto: Required[int]  # the characteristic's points when it was fixed (the limits rest on the last `points`)
    limits: Required[SpcLimits]


class SpcAlertAcknowledged(TypedDict, total=False):
    name: Required[str]
    until: Required[str]  # the time of the last point it covers
    upto: Required[int]  # alerts at the first `upto` points of the series are closed
    alerts: int
    note: Required[str]  # what was found or done


class CapaOpened(TypedDict, total=False):
    capa: Required[str]  # CA0001
    title: Required[str]
    owner: Required[str]
    due: Required[str]
    source: str  # alert, defect or hand
    characteristic: str
    defect: str
    pieces: int  # pieces after the change its effect is judged on


class CapaChanged(TypedDict, total=False):
    capa: Required[str]
    cause: Required[str]  # method, material, machine, person or measurement
    change: Required[str]
    points_before: int  # the metric's points when the change was made: the effect is judged on those after


class CapaEffect(TypedDict, total=False):
    metric: str
    before: float | None
    after: float | None
    n_before: int
    n_after: int


class CapaClosed(TypedDict, total=False):
    capa: Required[str]
    note: Required[str]
    effect: CapaEffect


class ToolUsed(TypedDict, total=False):
    tool: Required[str]  # a tool id of tools.toml (M12)
    stage: Required[str]
    run: Required[int]  # the stage's run it served (a rework is a new run)


class ToolMaintained(TypedDict, total=False):
    tool: Required[str]
    note: Required[str]
    uses: int  # uses since the maintenance before


class ToolRetired(TypedDict, total=False):
    tool: Required[str]
    reason: Required[str]

class CapacityDeclared(TypedDict):
    week: str  # the ISO week, 2026-W50
    hours: dict[str, float]  # skill -> hours that week


class DefectSeen(TypedDict):
    defect: str  # the id of the stage.rejected event that charged it
    job: str


class WorkPaused(TypedDict):
    stage: str


class WorkResumed(TypedDict):
    stage: str


class StandardsAdopted(TypedDict):
    version: int  # 1
    hash: str  # SHA-256 of the documents (domain.standards.content_hash)
    docs: dict[str, str]  # routes.toml, qc.toml -> their full text


class StandardsProposed(TypedDict, total=False):
    version: Required[int]
    hash: Required[str]
    base: Required[int]  # the version in effect when it was proposed
    docs: Required[dict[str, str]]  # every versioned document's full text in the new version
    changed: Required[list[str]]  # the documents that differ from the base
    why: Required[str]
    capa: list[str]  # the corrective actions that asked for it (CA0001 …)


class StandardsApproved(TypedDict):
    version: int
    hash: str  # what was approved: the proposal's hash


# `from` is a keyword, so this shape is declared by its keys: the version the job ran under, the one it
# runs under now, and why it was moved
StandardsMoved = TypedDict("StandardsMoved", {"from": int, "to": int, "why": str})


class PromiseAcceptedLate(TypedDict, total=False):
    due: Required[str]  # the date promised
    earliest: Required[str]  # the earliest the schedule could keep when it was promised
    bottleneck: str  # the skill that held it back


class MetalPriced(TypedDict, total=False):
    metal: Required[str]  # Au, Ag, Pt … as the alloys of site.toml name them
    per_gram: Required[str]  # the price of a gram of fine metal, a decimal string
    currency: Required[str]  # [costs] currency
    day: Required[str]  # the day the price holds for, 2026-12-03


class ClientLinkMade(TypedDict):
    token_sha256: str  # the SHA-256 of the link's token: the journal (and the hub) never hold the token itself
    expires: str  # the last day the link opens, 2027-06-01


class ClientLinkRevoked(TypedDict, total=False):
    reason: str  # every link of the job made before this event is withdrawn


class ClientPhotoMarked(TypedDict):
    sha256: str  # a photo of the job (photo.attached)
    shown: bool  # True: the client's link shows it; False: no longer


SHAPES: dict[str, type] = {
    ev.JOB_CREATED: JobCreated,
    ev.JOB_STONES_ADDED: JobStonesAdded,
    ev.STAGE_STARTED: StageStarted,
    ev.WEIGHT_RECORDED: WeightRecorded,
    ev.PHOTO_ATTACHED: PhotoAttached,
    ev.STAGE_FINISHED: StageFinished,
    ev.STAGE_VERIFIED: StageVerified,
    ev.STAGE_REJECTED: StageRejected,
    ev.JOB_HELD: JobHeld,
    ev.JOB_RELEASED: JobReleased,
    ev.LABEL_PRINTED: LabelPrinted,
    ev.LABEL_REPRINTED: LabelReprinted,
    ev.BATCH_CREATED: BatchCreated,
    ev.BATCH_JOINED: BatchJoined,
    ev.BATCH_CLOSED: BatchClosed,
    ev.PERSON_LOGGED_IN: LoggedIn,
    ev.PERSON_LOGGED_OUT: LoggedOut,
    ev.CONFLICT_RESOLVED: ConflictResolved,
    ev.PIN_REFUSED: PinRefused,
    ev.DB_REBUILT: DbRebuilt,
    dk.JOB_DELAYED: JobDelayed,
    dq.QC_INSPECTED: QcInspected,
    dq.QC_SAMPLE_DRAWN: QcSampleDrawn,
    dq.QC_BATCH_ESCALATED: QcBatchEscalated,
    dq.DEFECT_SEEN: DefectSeen,
    ds.STONES_ISSUED: StonesIssued,
    **dict.fromkeys(ds.MOVE_EVENTS.values(), StonesMoved),
    ds.STONES_DISCREPANCY: StonesDiscrepancy,
    dm.LOT_RECEIVED: LotReceived,
    dm.METAL_ISSUED: MetalIssued,
    dm.METAL_RETURNED: MetalReturned,
    dm.REFINER_SENT: RefinerSent,
    dm.REFINER_RETURNED: RefinerReturned,
    dm.TREE_BUILT: TreeBuilt,
    dm.TREE_JOINED: TreeJoined,
    dm.TREE_CAST: TreeCast,
    dm.PIECE_CUT: PieceCut,
    dm.TREE_CUT: TreeCut,
    dspc.SPC_BASELINE_FIXED: SpcBaselineFixed,
    dspc.SPC_ALERT_ACKNOWLEDGED: SpcAlertAcknowledged,
    dspc.CAPA_OPENED: CapaOpened,
    dspc.CAPA_CHANGED: CapaChanged,
    dspc.CAPA_CLOSED: CapaClosed,
    dtool.TOOL_USED: ToolUsed,
    dtool.TOOL_MAINTAINED: ToolMaintained,
    dtool.TOOL_RETIRED: ToolRetired,

    dstd.STANDARDS_ADOPTED: StandardsAdopted,
    dstd.STANDARDS_PROPOSED: StandardsProposed,
    dstd.STANDARDS_APPROVED: StandardsApproved,
    dstd.STANDARDS_MOVED: StandardsMoved,

    dc.CAPACITY_DECLARED: CapacityDeclared,
    dc.WORK_PAUSED: WorkPaused,
    dc.WORK_RESUMED: WorkResumed,
    dc.PROMISE_ACCEPTED_LATE: PromiseAcceptedLate,
    dm.METAL_PRICED: MetalPriced,
    ev.CLIENT_LINK_MADE: ClientLinkMade,
    ev.CLIENT_LINK_REVOKED: ClientLinkRevoked,
    ev.CLIENT_PHOTO_MARKED: ClientPhotoMarked,
}


@functools.cache
def _hints(shape: type) -> dict[str, Any]:
    return typing.get_type_hints(shape)


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Required or origin is typing.NotRequired:
        return _fits(value, typing.get_args(hint)[0])
    if origin is types.UnionType or origin is typing.Union:
        return any(_fits(value, a) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.is_typeddict(hint):
        return isinstance(value, dict) and not problems_of(hint, value, "")
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(_fits(k, key) and _fits(v, item) for k, v in value.items())
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def problems_of(shape: type, payload: Any, what: str) -> list[str]:
    if not isinstance(payload, dict):
        return [f"{what}payload is {type(payload).__name__}, not an object"]
    hints = _hints(shape)
    out = [f"{what}missing {k!r}" for k in sorted(shape.__required_keys__) if k not in payload]  # type: ignore[attr-defined]
    for k, v in payload.items():
        if k not in hints:
            out.append(f"{what}{k!r} is not part of its payload")
        elif not _fits(v, hints[k]):
            out.append(f"{what}{k!r} holds {v!r}, which does not fit {hints[k]}")
    return out


def problems(event_type: str, payload: Any) -> list[str]:
    """What is wrong with a payload for its event type (empty when it fits its declared shape)."""
    shape = SHAPES.get(event_type)
    if shape is None:
        return [f"{event_type}: no payload shape is declared for this event type"]
    return problems_of(shape, payload, f"{event_type}: ")
