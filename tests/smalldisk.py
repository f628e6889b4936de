"""Real disks that fail: a small tmpfs filled to the last page, and a read-only view of a folder (mounts; root)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit {done.returncode}"
        pytest.skip(f"cannot mount here (mount {' '.join(args[:-1])} …: {why}); these tests need root")


def _umount(where: Path) -> None:
    # A bind mount of a folder on the same disk is not seen by os.path.ismount (same device), so the
    # answer of umount itself decides: busy (a connection still open under it) -> detach it lazily.
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@contextmanager
def small_disk(where: Path, size: str = "32m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` for the block."""
    where.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where))
    try:
        yield where
    finally:
        _umount(where)


@contextmanager
def read_only_view(folder: Path, where: Path) -> Iterator[Path]:
    """`folder` seen again at `where`, read-only (a bind mount made read-only), for the block."""
    where.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(folder), str(where))
    try:
        _mount("-o", "remount,ro,bind", str(where))
        yield where
    finally:
        _umount(where)


def fill(disk: Path) -> Path:
    """Write a file on `disk` until no page is left; return it (delete it to give the room back)."""
    filler = disk / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        chunk = 1 << 20
        while chunk:
            try:
                if os.write(fd, bytes(chunk)) < chunk:
                    continue  # the last room taken: the next write says ENOSPC
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk //= 2
    finally:
        os.close(fd)
    st = os.statvfs(disk)
    assert st.f_bavail * st.f_frsize < 8192, "the disk is not full"
    return filler
