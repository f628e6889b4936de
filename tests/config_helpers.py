"""Editing a copy of the example config in tests: change one line, know which line it was."""

from __future__ import annotations

import shutil
from pathlib import Path

from floorkiosk.paths import example_config_dir


def copy_example(dst: Path) -> Path:
    shutil.copytree(example_config_dir(), dst)
    return dst


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new`; return the 1-based line where the new text starts."""
    text = path.read_text()
    assert old in text, old
    idx = text.index(old)
    path.write_text(text.replace(old, new, 1))
    return text[:idx].count("\n") + 1 + new[: len(new) - len(new.lstrip("\n"))].count("\n")
