"""The site config's typed records: alloys, stages, routes, benches, people and the site itself.

Built once by the loader (domain/config.py), which validates every field; everything else reads
these frozen records and never the TOML.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from floorkiosk.domain.calendar import PlanningSettings

ROLES = ("artisan", "supervisor", "admin")
# The roles allowed to verify or reject a stage (BRIEF: "supervisor/QC").
QC_ROLES = frozenset({"supervisor", "admin"})
EVIDENCE = ("weigh-in", "weigh-out", "photo")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


@dataclass(frozen=True)
class Alloy:
    code: str  # short code printed on bags, e.g. "18KY"
    name: str  # "18K yellow gold"
    metal: str  # chemical symbol of the precious metal: Au, Ag, Pt, Pd
    fineness: Decimal  # parts of precious metal per 1 (0.750 for 18K)


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    skill: str  # the skill a person needs to start and finish it
    start_evidence: tuple[str, ...] = ()  # recorded right after start: weigh-in, photo
    finish_evidence: tuple[str, ...] = ()  # needed before finish: weigh-out, photo
    checklist: tuple[str, ...] = ()  # items the person confirms at finish
    verify: bool = False  # a second person with a QC role must verify it
    max_loss_pct: Decimal | None = None  # largest weight loss it may cause, % of weigh-in

    def needs(self, evidence: str) -> bool:
        return evidence in self.start_evidence or evidence in self.finish_evidence

    @property
    def photos_needed(self) -> int:
        return ("photo" in self.start_evidence) + ("photo" in self.finish_evidence)


@dataclass(frozen=True)
class Step:
    stage: str
    after: tuple[str, ...]  # prerequisites: stage ids of the same route


@dataclass(frozen=True)
class Route:
    id: str
    name: str
    steps: tuple[Step, ...]

    @functools.cached_property
    def stage_ids(self) -> tuple[str, ...]:
        # read at every finish and verification of every job: worked out once
        return tuple(s.stage for s in self.steps)

    @functools.cached_property
    def _by_stage(self) -> dict[str, Step]:
        return {s.stage: s for s in self.steps}

    def step(self, stage_id: str) -> Step | None:
        return self._by_stage.get(stage_id)

    @functools.cached_property
    def last_first(self) -> tuple[str, ...]:
        """The stage ids from the last: asking whether all are closed, an open one is met soonest."""
        return self.stage_ids[::-1]


@dataclass(frozen=True)
class DeviceConfig:
    """A device's settings, kept as given; the device layer interprets them."""

    kind: str
    settings: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


@dataclass(frozen=True)
class PrinterConfig:
    uri: str  # tcp://host:9100, cups:QUEUE or file:/path
    dpi: int = 203
    language: str = "zpl"  # zpl, pdf or png
    template_size: str | None = None  # PDF printers: "A4" or "Letter" prints sheets; unset, one label a page


@dataclass(frozen=True)
class Bench:
    id: str
    name: str
    stages: tuple[str, ...]
    qc: bool = False  # a QC station: verifies stages of any bench
    scale: DeviceConfig | None = None
    camera: DeviceConfig | None = None
    scanner: DeviceConfig | None = None
    printer: PrinterConfig | None = None

    def serves(self, stage_id: str) -> bool:
        return stage_id in self.stages


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    badge: str
    roles: tuple[str, ...]
    skills: tuple[str, ...] = ()
    pin: str | None = field(default=None, repr=False)  # a secret: never in a repr or a crash report

    @property
    def is_qc(self) -> bool:
        return bool(QC_ROLES.intersection(self.roles))

    @property
    def is_supervisor(self) -> bool:
        return "supervisor" in self.roles or "admin" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class OverrideReason:
    code: str
    text: str


@dataclass(frozen=True)
class SiteSettings:
    name: str = "Workshop"
    units: tuple[str, ...] = ("g",)  # weights are shown in these units, side by side
    idle_logout_seconds: int = 300
    supervisor_pin: bool = False  # supervisor actions ask for the PIN after the badge
    scan_max_key_gap_ms: int = 50  # keys closer than this, ending in Enter, are a scanner
    timezone: str = "UTC"
    # postgresql://... for many benches; None = embedded only. It may hold a password: left out of the
    # repr (and so of Textual's crash report, which prints the locals); store.hub.mask_dsn shows it.
    hub: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BatchingRules:
    """Which job bags may travel together in one batch ([batching] in site.toml; seed 000: "controlled batching").

    A rule that is on refuses a job bag that breaks it, in words; all are on where site.toml says nothing.
    """

    same_alloy: bool = True  # every piece of a batch is of one alloy (no 18K yellow among 14K white)
    same_route: bool = True  # every piece follows the same route
    same_next_stage: bool = True  # every piece waits for the same stage next (the batch moves through it together)
    one_open_batch: bool = True  # a job bag is in at most one open batch


@dataclass(frozen=True)
class Site:
    settings: SiteSettings
    alloys: dict[str, Alloy]
    stages: dict[str, Stage]
    routes: dict[str, Route]
    benches: dict[str, Bench]
    people: dict[str, Person]
    override_reasons: dict[str, OverrideReason]
    folder: Path
    raw: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # each file's parsed TOML
    batching: BatchingRules = field(default_factory=BatchingRules)
    planning: PlanningSettings = field(default_factory=PlanningSettings)  # planning.toml, capacity in people.toml

    @functools.cached_property
    def _by_badge(self) -> dict[str, Person]:
        # a badge is looked up at every scan: one dict for the site, not a walk through its people
        # by upper case: badge codes differ in more than case (the config says so), and a code typed by
        # hand is read whatever its case
        return {p.badge.upper(): p for p in self.people.values()}

    def person_by_badge(self, badge: str) -> Person | None:
        return self._by_badge.get(badge.upper())
