"""Reading a TOML config file entry by entry with type checks, each problem located as `file:line`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

class Locator:
    """Finds the line of an entry in a TOML file's text, to report `file:line`."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def header(self, table: str, index: int) -> int:
        """Line (1-based) of the index-th ``[[table]]`` header; 1 if not found."""
        pat = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
        n = -1
        for i, line in enumerate(self.lines):
            if pat.match(line):
                n += 1
                if n == index:
                    return i + 1
        return self.find_key(table) or 1

    def _block_end(self, start: int) -> int:
        for i in range(start, len(self.lines)):
            if re.match(r"^\s*\[\[[^.\]]+\]\]", self.lines[i]):
                return i
        return len(self.lines)

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
    """Reads one file's entries with type checks; collects problems instead of raising."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.data: dict[str, Any] = {}
        self.loc: Locator | None = None
        if not path.exists():
            problems.append(f"{path}:1: file is missing")
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        self.loc = Locator(path, text)
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            line = m.group(1) if m else "1"
            what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            problems.append(f"{path}:{line}: not valid TOML: {what}")
            self.loc = None

    @property
    def ok(self) -> bool:
        return self.loc is not None

    def problem(self, line: int, msg: str) -> None:
        self.problems.append(f"{self.path}:{line}: {msg}")

    def entries(self, table: str) -> list[tuple[int, dict[str, Any], int]]:
        """Each [[table]] entry with its index and header line."""
        items = self.data.get(table, [])
        if not isinstance(items, list):
            self.problem(self.loc.find_key(table) or 1, f"{table!r} must be a list of [[{table}]] tables")
            return []
        out = []
        for i, item in enumerate(items):
            line = self.loc.header(table, i)
            if not isinstance(item, dict):
                self.problem(line, f"each {table!r} entry must be a table")
                continue
            out.append((i, item, line))
        return out

    def get(self, table: str, index: int, item: dict[str, Any], key: str, kind: type | tuple[type, ...],
            *, required: bool = True, default: Any = None) -> Any:
        if key not in item:
            if required:
                self.problem(self.loc.header(table, index), f"[[{table}]] entry is missing {key!r}")
            return default
        value = item[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            ok = False
        else:
            ok = isinstance(value, kind)
        if not ok:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problem(self.loc.find_in(table, index, f"{key}"), f"{key!r} must be {_article(names)}, not {value!r}")
            return default
        return value

    def str_list(self, table: str, index: int, item: dict[str, Any], key: str) -> tuple[str, ...]:
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(self.loc.find_in(table, index, key), f"{key!r} must be a list of strings, not {value!r}")
            return ()
        return tuple(value)


def _article(name: str) -> str:
    return {"str": "a string", "int": "a whole number", "bool": "true or false", "list": "a list",
            "dict": "a table", "float": "a number", "int or float": "a number"}.get(name, name)
