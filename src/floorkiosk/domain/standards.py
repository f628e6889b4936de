"""Versioned standards: the site's routes, stages, tolerances and QC plans as numbered, hashed versions.

Method discipline (seed 002: "switching methods mid-growth creates new defect profiles"): the
documents that say how a piece is made and judged (routes.toml: the stage catalogue with each
stage's loss tolerance, and the routes; qc.toml: the inspection plans with their tolerances) change
only by a proposal that an admin other than its proposer approves, each with why and which
corrective action asked for it. A version is the text of every versioned document, its number and
a content hash; each job records the version it was created under and keeps it unless moved on
purpose. This module is the pure part: names, hashing, diffs, which document a file is.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping

STANDARDS_ADOPTED = "standards.adopted"  # version 1: the documents as they stood when versioning began
STANDARDS_PROPOSED = "standards.proposed"  # a new version proposed (the full text of every document)
STANDARDS_APPROVED = "standards.approved"  # an admin other than its proposer approved it: it takes effect
STANDARDS_MOVED = "standards.moved"  # a running job moved on purpose to another version

# The documents of a site's config folder that are standards, and the top-level keys that say which a
# file is when its name does not (a proposal may come as new-routes.toml).
DOCUMENTS: dict[str, frozenset[str]] = {
    "routes.toml": frozenset({"stages", "routes"}),
    "qc.toml": frozenset({"plans", "defects", "stones", "spc"}),
}
FIRST = 1  # the version a site starts with (and of every job recorded before versioning began)


def content_hash(docs: Mapping[str, str]) -> str:
    """The SHA-256 of the documents' names and texts (every versioned document, in name order)."""
    canon = json.dumps({k: docs[k] for k in sorted(docs)}, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def which_document(file_name: str, top_keys: set[str] | frozenset[str]) -> str | None:
    """The versioned document a proposed file replaces: by its name, else by its top-level keys."""
    if file_name in DOCUMENTS:
        return file_name
    hits = [d for d, keys in DOCUMENTS.items() if top_keys & keys]
    return hits[0] if len(hits) == 1 else None


def diff(old: Mapping[str, str], new: Mapping[str, str], old_label: str, new_label: str) -> str:
    """A unified diff of every document that differs between two versions ("" when none does)."""
    out: list[str] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, ""), new.get(name, "")
        if a == b:
            continue
        out.extend(difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                        f"{old_label}/{name}", f"{new_label}/{name}"))
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
    return "".join(out)


def changed(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The documents whose text differs between two versions."""
    return sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
