"""Where the data folders (drivers/, labels/, config/) live, in a wheel or in a source checkout."""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `name` (drivers, labels or config) shipped with floorkiosk.

    An installed wheel carries them under floorkiosk/_data/; a source checkout (or an
    editable install) has them at the repository root, two levels above this package.
    """
    for candidate in (_PKG / "_data" / name, _PKG.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"floorkiosk data folder {name!r} not found beside the package")


def drivers_dir() -> Path:
    return data_dir("drivers")


def labels_dir() -> Path:
    return data_dir("labels")


def example_config_dir() -> Path:
    return data_dir("config")


def default_site_dir() -> Path:
    """The site's data folder: --site wins, then FLOORKIOSK_SITE, then ./site."""
    env = os.environ.get("FLOORKIOSK_SITE")
    return Path(env) if env else Path.cwd() / "site"
