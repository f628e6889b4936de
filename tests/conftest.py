"""Fixtures shared by every test area: the example site config and a fresh site on disk."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from handclock import HandClock  # tests/ is on the path (pytest rootdir)
from photofile import stored_photo

from floorkiosk.domain.config import load_site
from floorkiosk.paths import example_config_dir

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def site():
    return load_site(example_config_dir())


@pytest.fixture
def clock():
    return HandClock()


@pytest.fixture
def shop(tmp_path, clock):
    from floorkiosk.workshop.site import init_site, open_shop

    init_site(tmp_path / "site", origin="test-bench")
    s = open_shop(tmp_path / "site", clock=clock)
    yield s
    s.close()


@pytest.fixture
def photo(shop) -> str:
    """The hash of a real JPEG in the shop's photo store: evidence a verb accepts."""
    return stored_photo(shop.photos_dir)
