"""Reading a TOML config file entry by entry with type checks, each problem located as `file:line`."""

from __future__ import annotations

import bisect
import difflib
import json
import math
import re
import stat
from collections.abc import Iterable, Iterator, Set
from pathlib import Path
from typing import Any

# tomli compiled (mypyc) is the stdlib's tomllib, about twice as fast: a site's config is read at every
# command, and a large site's people.toml is most of that time
try:
    import tomli as tomllib
except ImportError:  # pragma: no cover - a build without it reads the same TOML, slower
    import tomllib

# A key as TOML writes it: bare, "quoted" or 'literal' parts joined by dots.
_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_KEY = _PART + r"(?:[ \t]*\.[ \t]*" + _PART + r")*"
_PART_RE = re.compile(_PART)
_HEADER_RE = re.compile(r"[ \t]*(\[\[?)[ \t]*(" + _KEY + r")[ \t]*\]")
_KEYVAL_RE = re.compile(r"[ \t]*(" + _KEY + r")[ \t]*=")
# What changes the nesting of a value that goes on over several lines (strings and comments skipped).
_TOKEN_RE = re.compile(r"""\"\"\"|'''|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|#|[\[\]{}]""")
# A run of digits longer than Python reads as an int (sys.get_int_max_str_digits()).
_LONG_NUMBER = re.compile(r"\d{4301,}")


def _parts(key: str) -> tuple[str, ...]:
    out = []
    for p in _PART_RE.findall(key):
        if p[0] == '"':
            try:
                p = json.loads(p)  # TOML's basic-string escapes are JSON's, near enough for a line number
            except ValueError:
                p = p[1:-1]
        elif p[0] == "'":
            p = p[1:-1]
        out.append(p)
    return tuple(out)


def _scan(line: str, pos: int, depth: int) -> tuple[int, str | None]:
    """The bracket depth after `line[pos:]`, and the delimiter of a multi-line string left open."""
    while True:
        m = _TOKEN_RE.search(line, pos)
        if m is None:
            return depth, None
        t = m.group()
        if t in ('"""', "'''"):
            end = line.find(t, m.end())
            if end < 0:
                return depth, t
            pos = end + 3
            continue
        if t == "#":
            return depth, None
        if t in ("[", "{"):
            depth += 1
        elif t in ("]", "}"):
            depth = max(0, depth - 1)
        pos = m.end()


class Locator:
    """Finds the line of an entry or a key in a TOML file's text, to report `file:line`.

    The first look-up indexes the whole text in one pass: every table header and every ``key =``
    line by its path (``("people", 3)`` is the fourth [[people]], ``("benches", 2, "scale", "url")``
    a key of the third bench's [benches.scale]), so each look-up after it is a dict access and a
    file of 10,000 entries is not read 10,000 times. Only lines are found here: the values come
    from tomllib, so a line this misjudges (a rare layout) names a nearby line, never a wrong value.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self._text = text
        self._lines: list[str] | None = None
        self._keys: dict[tuple[Any, ...], int] | None = None
        self._tops: list[int] = []  # lines of the top-level headers ([site], [[benches]]), in order

    @property
    def lines(self) -> list[str]:
        """The text's lines as tomllib counts them: split at "\n" only (str.splitlines also splits at
        \x0c, \u2028 and others, which a TOML string may hold). Split when first asked: a config
        without a problem never needs them."""
        if self._lines is None:
            self._lines = self._text.replace("\r\n", "\n").split("\n")
        return self._lines

    def _index(self) -> dict[tuple[Any, ...], int]:
        if self._keys is not None:
            return self._keys
        keys: dict[tuple[Any, ...], int] = {}
        arrays: dict[tuple[Any, ...], int] = {}  # an array of tables -> how many entries so far
        current: tuple[Any, ...] = ()
        depth = 0  # brackets still open from the lines before (an array over several lines)
        ml: str | None = None  # the closing delimiter of a multi-line string being read

        def resolve(parts: Iterable[str]) -> tuple[Any, ...]:
            path: tuple[Any, ...] = ()
            for p in parts:
                path += (p,)
                n = arrays.get(path)
                if n:  # a name of an array of tables means its last entry
                    path += (n - 1,)
            return path

        for n, line in enumerate(self.lines, 1):
            pos = 0
            if ml is not None:
                end = line.find(ml)
                if end < 0:
                    continue
                ml, pos = None, end + 3
            elif depth == 0:
                s = line.lstrip(" \t")
                if not s or s[0] == "#":
                    continue
                if s[0] == "[":
                    m = _HEADER_RE.match(line)
                    if m:
                        parts = _parts(m.group(2))
                        if m.group(1) == "[[":
                            arr = resolve(parts[:-1]) + (parts[-1],)
                            k = arrays.get(arr, 0)
                            arrays[arr] = k + 1
                            keys.setdefault(arr, n)  # the array itself: where its first entry is
                            current = arr + (k,)
                        else:
                            current = resolve(parts)
                        keys.setdefault(current, n)
                        if len(parts) == 1:
                            self._tops.append(n)
                    continue
                m = _KEYVAL_RE.match(line)
                if m is None:
                    continue
                keys.setdefault(current + _parts(m.group(1)), n)
                pos = m.end()
            rest = line[pos:] if pos else line
            if "[" in rest or "{" in rest or "]" in rest or "}" in rest or '"""' in rest or "'''" in rest:
                depth, ml = _scan(line, pos, depth)
        self._keys = keys
        return keys

    def line_of(self, *path: Any) -> int:
        """Line of the key or entry at `path`, else of the nearest thing that holds it; 1 if none."""
        keys = self._index()
        while path:
            n = keys.get(path)
            if n:
                return n
            path = path[:-1]
        return 1

    def header(self, table: str, index: int) -> int:
        """Line (1-based) of the index-th ``[[table]]`` header; 1 if not found."""
        n = self._index().get((table, index))
        if n:
            return n
        return self.find_key(table) or 1

    def _block_end(self, start: int) -> int:
        """Where the block of the header at line `start` ends: at the next top-level header (0-based)."""
        self._index()
        k = bisect.bisect_right(self._tops, start)
        return self._tops[k] - 1 if k < len(self._tops) else len(self.lines)

    def find_in(self, table: str, index: int, *needles: str) -> int:
        """Line of the first needle (then the next, ...) inside the index-th [[table]] block."""
        start = self.header(table, index)
        line = start
        end = self._block_end(start)
        for needle in needles:
            for i in range(line - 1, end):
                if needle in self.lines[i]:
                    line = i + 1
                    break
        return line

    def find_key(self, key: str) -> int:
        pat = re.compile(r"^\s*(\[+\s*)?" + re.escape(key) + r"\b")
        for i, line in enumerate(self.lines):
            if pat.match(line):
                return i + 1
        return 0

    def at(self, line: int, msg: str) -> str:
        return f"{self.path}:{line}: {msg}"


class TomlReader:
    """Reads one file's entries with type checks; collects problems instead of raising.

    Whatever the file holds (a folder in its place, unreadable bytes, bad UTF-8, nesting deeper
    than the parser goes, NaN), the reader reports it as ``file:line: what is wrong`` and is not
    ``ok``; it never raises.
    """

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.data: dict[str, Any] = {}
        self.loc: Locator | None = None
        self._ok = False
        text = self._text()
        if text is None:
            return
        loc = Locator(path, text)
        nonfinite: list[float] = []

        def parse_float(s: str) -> float:
            # every float of the file passes here, nan, inf and 1e400 too: a cheap way to know
            # whether the data needs to be searched for them
            v = float(s)
            if not math.isfinite(v):
                nonfinite.append(v)
            return v

        try:
            data = tomllib.loads(text, parse_float=parse_float)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            line = m.group(1) if m else str(_left_open(loc.lines)) if "(at end of document)" in str(exc) else "1"
            what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
            problems.append(f"{path}:{line}: not valid TOML: {what}")
            return
        except RecursionError:
            self.problem(_deepest(loc.lines), "not readable: arrays or tables nested too deeply")
            return
        except ValueError as exc:  # Python's own limit: an integer of more than 4,300 digits
            m = _LONG_NUMBER.search(text)
            if m is None:
                self.problem(1, f"not valid TOML: {exc}")
            else:
                self.problem(text.count("\n", 0, m.start()) + 1,
                             f"not valid TOML: a number of {len(m.group())} digits is too long to read")
            return
        self.loc = loc
        self.data = data
        self._ok = True
        if nonfinite:
            for where, value in _nonfinite(data):
                key = next((p for p in reversed(where) if isinstance(p, str)), "value")
                self.problem(loc.line_of(*where), f"{key!r} is {value}: a number in the config must be finite "
                                                  "(not nan or inf)")
                self._ok = False

    def _text(self) -> str | None:
        path = self.path
        try:
            mode = path.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            self.problem(1, "file is missing")
            return None
        except OSError as exc:
            self.problem(1, f"cannot be read: {exc.strerror or exc}")
            return None
        if stat.S_ISDIR(mode):
            self.problem(1, "is a folder, not a file")
            return None
        if not stat.S_ISREG(mode):
            self.problem(1, "is not a regular file (a device or a pipe?)")
            return None
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.problem(1, f"cannot be read: {exc.strerror or exc}")
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line_start = raw.rfind(b"\n", 0, exc.start) + 1
            self.problem(raw.count(b"\n", 0, exc.start) + 1,
                         f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start - line_start + 1}): "
                         "save the file as UTF-8")
            return None

    @property
    def ok(self) -> bool:
        return self._ok

    def problem(self, line: int, msg: str) -> None:
        self.problems.append(f"{self.path}:{line}: {msg}")

    def line(self, *path: Any) -> int:
        """Line of the key or entry at `path` (see Locator.line_of)."""
        return self.loc.line_of(*path) if self.loc else 1

    def entries(self, table: str) -> list[tuple[int, dict[str, Any]]]:
        """Each [[table]] entry with its index (its line: ``line(table, index)``, looked up when needed)."""
        items = self.data.get(table, [])
        if not isinstance(items, list):
            self.problem(self.line(table), f"{table!r} must be a list of [[{table}]] tables")
            return []
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.problem(self.line(table, i), f"each {table!r} entry must be a table")
                continue
            out.append((i, item))
        return out

    def check_keys(self, item: dict[str, Any], known: Set[str], where: str, *path: Any) -> None:
        """Report each key of `item` (at `path`) that is not `known`, with the closest known one."""
        if item.keys() <= known:
            return
        for key in item:
            if key not in known:
                self.problem(self.line(*path, key), unknown_key(key, where, known))

    def get(self, table: str, index: int, item: dict[str, Any], key: str, kind: type | tuple[type, ...],
            *, required: bool = True, default: Any = None) -> Any:
        value = item.get(key, _MISSING)
        if type(value) is kind:  # the common case, first (10,000 people read 4 keys each)
            return value
        if value is _MISSING:
            if required:
                self.problem(self.line(table, index), f"[[{table}]] entry is missing {key!r}")
            return default
        if not kind_ok(value, kind):
            self.problem(self.line(table, index, key), wrong_type(key, value, kind))
            return default
        return value

    def str_list(self, table: str, index: int, item: dict[str, Any], key: str) -> tuple[str, ...]:
        value = item.get(key, ())
        if type(value) is list and set(map(type, value)) <= _STR:  # tomllib gives str itself, never a subclass
            return tuple(value)
        if value == ():
            return ()
        self.problem(self.line(table, index, key), f"{key!r} must be a list of strings, not {show(value)}")
        return ()


_MISSING = object()
_STR = {str}


def kind_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance, except that true and false are not numbers (bool is an int to Python)."""
    if isinstance(value, bool):
        return kind is bool or (isinstance(kind, tuple) and bool in kind)
    return isinstance(value, kind)


def wrong_type(key: str, value: Any, kind: type | tuple[type, ...]) -> str:
    names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
    return f"{key!r} must be {_article(names)}, not {show(value)}"


def unknown_key(key: str, where: str, known: Iterable[str]) -> str:
    """``unknown key 'max_los_pct' in [[stages]] (did you mean max_loss_pct?)``: a typo never passes silently."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
    return f"unknown key {key!r} in {where} ({hint})"


def show(value: Any, width: int = 60) -> str:
    """A value as a message quotes it: its repr, cut short."""
    try:
        s = repr(value)
    except RecursionError:
        s = "a deeply nested value"
    return s if len(s) <= width else s[: width - 3] + "..."


def _nonfinite(data: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], float]]:
    """(path, value) of every NaN or infinity in parsed TOML; iterative, as nesting may be deep."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, float):
            if not math.isfinite(v):
                yield where, v
        elif isinstance(v, dict):
            stack.extend((where + (k,), x) for k, x in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((where + (i,), x) for i, x in reversed(list(enumerate(v))))


def _left_open(lines: list[str]) -> int:
    """The line where what the parser found unfinished at the end of the file begins.

    An array, inline table or multi-line string still open when the file ends is reported by the
    parser "at end of document": the line that opened it is the one to fix, however many lines
    (comments, blank lines, the rest of the file swallowed into a string) follow it. Anything else
    unfinished is on the last line that holds something.
    """
    depth, ml, opened = 0, None, 0
    for n, line in enumerate(lines, 1):
        pos = 0
        if ml is not None:
            end = line.find(ml)
            if end < 0:
                continue
            ml, pos = None, end + 3
        before = depth
        depth, ml = _scan(line, pos, depth)
        if (before == 0 and depth > 0) or (ml is not None and depth == 0 and before == 0):
            opened = n
        elif depth == 0 and ml is None:
            opened = 0
    if opened:
        return opened
    last = len(lines)
    while last > 1 and not lines[last - 1].strip():
        last -= 1
    return last


def _deepest(lines: list[str]) -> int:
    """The line that opens the most brackets: where nesting too deep to read most likely is."""
    best, line = 0, 1
    for i, text in enumerate(lines, 1):
        n = text.count("[") + text.count("{")
        if n > best:
            best, line = n, i
    return line


def _article(name: str) -> str:
    return {"str": "a string", "int": "a whole number", "bool": "true or false", "list": "a list",
            "dict": "a table", "float": "a number", "int or float": "a number",
            "str or int": "a string or a whole number"}.get(name, name)
