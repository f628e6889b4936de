"""Fixtures shared by every test area: the example site config and a fresh site on disk."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from floorkiosk.domain.config import load_site
from floorkiosk.paths import example_config_dir

REPO = Path(__file__).resolve().parent.parent


class FixedClock:
    """A clock the test moves by hand, so due dates and histories are reproducible."""

    def __init__(self, when: datetime | None = None) -> None:
        self.now = when or datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        from datetime import timedelta

        self.now += timedelta(**kw)


@pytest.fixture
def site():
    return load_site(example_config_dir())


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def shop(tmp_path, clock):
    from floorkiosk.workshop.site import init_site, open_shop

    init_site(tmp_path / "site", origin="test-bench")
    s = open_shop(tmp_path / "site", clock=clock)
    yield s
    s.close()
