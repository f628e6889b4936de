"""Controlled batching: whether a job bag may join a batch, under the site's rules, and why not in words.

Pure: the job states and the batch are given; nothing is read or written here.
"""

from __future__ import annotations

from floorkiosk.domain.records import BatchingRules, Site
from floorkiosk.domain.state import DONE, VERIFIED, JobState

def next_stage(site: Site, job: JobState) -> str | None:
    """The stage the job waits for (or is at) now: the first of its route not yet done.

    A stage that needs verifying counts as done only once verified: until then the batch waits there.
    """
    route = site.routes.get(job.route)
    if route is None:
        return None
    for sid in route.stage_ids:
        st = job.stages.get(sid)
        if st is None:
            return sid
        needs_verify = site.stages[sid].verify if sid in site.stages else False
        if not (st.status == VERIFIED or (st.status == DONE and not needs_verify)):
            return sid
    return None


def stage_name(site: Site, sid: str | None) -> str:
    if sid is None:
        return "nothing (its route is complete)"
    s = site.stages.get(sid)
    return s.name if s else sid


def alloy_name(site: Site, code: str) -> str:
    a = site.alloys.get(code)
    return a.name if a else code or "no alloy"


def route_name(site: Site, rid: str) -> str:
    r = site.routes.get(rid)
    return r.name if r else rid or "no route"


def refusals(site: Site, rules: BatchingRules, batch: str, job: JobState, members: list[JobState],
             open_batch: str | None, called: str | None = None) -> list[str]:
    """Why `job` may not join `batch`, whose pieces are `members`; empty when it may.

    `open_batch`: the open batch the job is in now, if any. Each reason names the job and says what
    the batch is, so the person at the bench knows which bag to set aside. `called`: the batch in
    words, where it has no number yet ("the new batch", being scanned together at a bench).
    """
    out: list[str] = []
    name = called or f"batch {batch}"
    if any(m.id == job.id for m in members):
        return [f"{job.id} is already in {name}"]
    if job.complete:
        out.append(f"{job.id} is complete: there is nothing left to do to it in a batch")
    if rules.one_open_batch and open_batch is not None and open_batch != batch:
        out.append(f"{job.id} is already in open batch {open_batch}: a job bag is in one open batch at a time "
                   f"(close {open_batch} first)")
    if not members:
        return out
    first = members[0]
    if rules.same_alloy and job.alloy != first.alloy:
        out.append(f"{job.id} is {alloy_name(site, job.alloy)}; {name} is {alloy_name(site, first.alloy)}")
    if rules.same_route and job.route != first.route:
        out.append(f"{job.id} follows the {route_name(site, job.route)} route; {name} follows the "
                   f"{route_name(site, first.route)} route")
    if rules.same_next_stage:
        mine, theirs = next_stage(site, job), next_stage(site, first)
        if mine != theirs:
            out.append(f"{job.id} is at {stage_name(site, mine)}; {name} is at {stage_name(site, theirs)}")
    return out
