"""Label templates: TOML files in labels/ (or a site's own labels/ folder), loaded and checked once.

A template states its stock size in millimetres and lists its elements in drawing order, each placed
in millimetres from the label's top-left corner (see labels/README.md for the full format):

    text     x, y, w, size, text with {placeholders}; align, bold, reverse (white on black)
    box      x, y, w, h; line (thickness), fill
    qr       x, y, size (the square it may fill, quiet zone included)
    code128  x, y, w, h (bar height; quiet zones must fit inside w)

Any element may carry ``when = "field"``: it is drawn only when that field is true (the rush marker).
Both symbols always carry the label's scan payload (FK:J:J000123 ...), never free text, so every
code on a label scans back to the one thing the label names.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from floorkiosk.domain.payloads import Kind
from floorkiosk.errors import ConfigError, NotFound
from floorkiosk.paths import labels_dir

# The template's `kind` names the payload its symbols carry, and the field holding the value.
KINDS: dict[str, tuple[Kind, str]] = {
    "job": (Kind.JOB, "job"),
    "batch": (Kind.BATCH, "batch"),
    "badge": (Kind.BADGE, "badge"),
    "command": (Kind.COMMAND, "command"),
    "stone_parcel": (Kind.STONE_PARCEL, "parcel"),
    "tool": (Kind.TOOL, "tool"),
}

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
_ALIGN = ("left", "center", "right")

# Keys each element type accepts: (required, optional). Unknown keys are refused so a typo
# ("szie") is reported instead of silently printing at a default size.
_ELEMENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "text": (("x", "y", "w", "size", "text"), ("align", "bold", "reverse", "when")),
    "box": (("x", "y", "w", "h"), ("line", "fill", "when")),
    "qr": (("x", "y", "size"), ("when",)),
    "code128": (("x", "y", "w", "h"), ("when",)),
}
_TOP_KEYS = {"title", "kind", "width_mm", "height_mm", "description", "element"}


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    w: float
    size: float  # character height, mm
    text: str
    align: str = "left"
    bold: bool = False
    reverse: bool = False  # white on black: put it on a filled box
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    line: float = 0.3  # thickness, mm
    fill: bool = False
    when: str | None = None


@dataclass(frozen=True, slots=True)
class QR:
    x: float
    y: float
    size: float  # side of the square the symbol and its quiet zone may fill, mm
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Code128:
    x: float
    y: float
    w: float  # the symbol and both quiet zones must fit in this width
    h: float  # bar height
    when: str | None = None


Element = Text | Box | QR | Code128


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    kind: str  # a key of KINDS
    width_mm: float
    height_mm: float
    elements: tuple[Element, ...]
    source: Path
    description: str = ""
    # Per-resolution layout plans (layout.py), made on first use; not part of the template's value.
    cache: dict[int, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def payload_kind(self) -> Kind:
        return KINDS[self.kind][0]

    @property
    def key_field(self) -> str:
        """The field whose value the symbols encode (job, batch, badge, command, parcel)."""
        return KINDS[self.kind][1]

    @cached_property
    def fields(self) -> frozenset[str]:
        """Every field the template reads: placeholders, `when` conditions and the key field."""
        names = {self.key_field}
        for el in self.elements:
            if isinstance(el, Text):
                names.update(placeholders(el.text))
            if el.when:
                names.add(el.when)
        return frozenset(names)


def placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def search_path(site_dir: Path | str | None = None) -> list[Path]:
    """Where templates are looked up: the site's own labels/ first, so a site can add or replace one."""
    dirs: list[Path] = []
    if site_dir is not None:
        site_labels = Path(site_dir) / "labels"
        if site_labels.is_dir():
            dirs.append(site_labels)
    dirs.append(labels_dir())
    return dirs


def list_templates(site_dir: Path | str | None = None) -> list[Template]:
    seen: dict[str, Template] = {}
    for folder in search_path(site_dir):
        for path in sorted(folder.glob("*.toml")):
            if path.stem not in seen:
                seen[path.stem] = load_template_file(path)
    return sorted(seen.values(), key=lambda t: t.name)


def template_names(site_dir: Path | str | None = None) -> list[str]:
    names = {p.stem for folder in search_path(site_dir) for p in folder.glob("*.toml")}
    return sorted(names)


def load_template(name: str, site_dir: Path | str | None = None) -> Template:
    """The template called `name` (the file name without .toml); NotFound lists the known ones."""
    if not _NAME_RE.match(name or ""):
        raise NotFound(f"no label template {name!r}: names are lower-case letters, digits, '_' or '-'")
    for folder in search_path(site_dir):
        path = folder / f"{name}.toml"
        if path.is_file():
            return load_template_file(path)
    known = ", ".join(template_names(site_dir)) or "none"
    raise NotFound(f"no label template {name!r}; known templates: {known}")


def load_template_file(path: Path) -> Template:
    """Read and check one template file; ConfigError lists every problem as 'file: what is wrong'."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    return _parse(path, data)


def _number(problems: list[str], where: str, table: dict[str, Any], key: str, *, positive: bool) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where}: '{key}' must be a number of millimetres, not {value!r}")
        return 0.0
    if value < 0 or (positive and value == 0):
        problems.append(f"{where}: '{key}' must be {'above' if positive else 'at least'} 0, not {value!r}")
    return float(value)


def _parse(path: Path, data: dict[str, Any]) -> Template:
    problems: list[str] = []
    name = path.stem
    if not _NAME_RE.match(name):
        problems.append(f"{path}: file name must be lower-case letters, digits, '_' or '-' (it names the template)")
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"{path}: unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    kind = data.get("kind")
    if kind not in KINDS:
        problems.append(f"{path}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    width = _number(problems, str(path), data, "width_mm", positive=True)
    height = _number(problems, str(path), data, "height_mm", positive=True)
    raw_elements = data.get("element", [])
    if not isinstance(raw_elements, list) or not raw_elements:
        problems.append(f"{path}: needs at least one [[element]]")
        raw_elements = []
    elements: list[Element] = []
    for i, raw in enumerate(raw_elements, start=1):
        el = _parse_element(problems, f"{path}: element {i}", raw, width, height)
        if el is not None:
            elements.append(el)
    if not any(isinstance(e, (QR, Code128)) for e in elements) and not problems:
        problems.append(f"{path}: has no qr or code128 element: a label must scan")
    if problems:
        raise ConfigError(problems)
    return Template(
        name=name,
        title=str(data.get("title") or name.replace("_", " ")),
        kind=str(kind),
        width_mm=width,
        height_mm=height,
        elements=tuple(elements),
        source=path,
        description=str(data.get("description", "")),
    )


def _parse_element(problems: list[str], where: str, raw: Any, width: float, height: float) -> Element | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table")
        return None
    etype = raw.get("type")
    if etype not in _ELEMENT_KEYS:
        problems.append(f"{where}: 'type' must be one of {', '.join(_ELEMENT_KEYS)}, not {etype!r}")
        return None
    where = f"{where} ({etype})"
    required, optional = _ELEMENT_KEYS[etype]
    before = len(problems)
    for key in required:
        if key not in raw:
            problems.append(f"{where}: missing '{key}'")
    for key in sorted(set(raw) - set(required) - set(optional) - {"type"}):
        problems.append(f"{where}: unknown key {key!r} (known: {', '.join(required + optional)})")
    if len(problems) > before:
        return None
    when = raw.get("when")
    if when is not None and not (isinstance(when, str) and when.isidentifier()):
        problems.append(f"{where}: 'when' must name a field, not {when!r}")
    x = _number(problems, where, raw, "x", positive=False)
    y = _number(problems, where, raw, "y", positive=False)
    el: Element
    if etype == "text":
        w = _number(problems, where, raw, "w", positive=True)
        size = _number(problems, where, raw, "size", positive=True)
        text = raw["text"]
        if not isinstance(text, str):
            problems.append(f"{where}: 'text' must be a string")
            text = ""
        else:
            _check_text(problems, where, text)
        align = raw.get("align", "left")
        if align not in _ALIGN:
            problems.append(f"{where}: 'align' must be one of {', '.join(_ALIGN)}, not {align!r}")
        for flag in ("bold", "reverse"):
            if not isinstance(raw.get(flag, False), bool):
                problems.append(f"{where}: '{flag}' must be true or false")
        el = Text(x, y, w, size, text, align, bool(raw.get("bold")), bool(raw.get("reverse")), when)
        h = size
    elif etype == "box":
        w = _number(problems, where, raw, "w", positive=True)
        h = _number(problems, where, raw, "h", positive=True)
        line = _number(problems, where, raw, "line", positive=True) if "line" in raw else 0.3
        if not isinstance(raw.get("fill", False), bool):
            problems.append(f"{where}: 'fill' must be true or false")
        el = Box(x, y, w, h, line, bool(raw.get("fill")), when)
    elif etype == "qr":
        w = h = _number(problems, where, raw, "size", positive=True)
        el = QR(x, y, w, when)
    else:
        w = _number(problems, where, raw, "w", positive=True)
        h = _number(problems, where, raw, "h", positive=True)
        el = Code128(x, y, w, h, when)
    # A small tolerance: positions written to 0.1 mm should not fail on float rounding.
    if x + w > width + 1e-6 or y + h > height + 1e-6:
        problems.append(f"{where}: reaches {x + w:g} x {y + h:g} mm, outside the {width:g} x {height:g} mm stock")
    return el


def _check_text(problems: list[str], where: str, text: str) -> None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        problems.append(f"{where}: bad placeholder in {text!r}: {exc} (write {{{{ and }}}} for braces)")
        return
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        # Plain names only: "{job.__class__}" or "{x[0]}" would reach into objects.
        if not name.isidentifier() or spec or conv:
            problems.append(f"{where}: placeholder {{{name}}} must be a plain field name like {{design}}")
