"""Kiosk test fixtures: a small workshop with jobs in known states, built once and copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from kiosk_helpers import Clock, Jobs, build_site, write_config


@pytest.fixture(scope="session")
def template_site(tmp_path_factory) -> tuple[Path, Jobs]:
    root = tmp_path_factory.mktemp("kiosk") / "site"
    jobs = build_site(root)
    return root, jobs


@pytest.fixture
def workshop(template_site, tmp_path) -> Callable[..., Path]:
    """A fresh copy of the test workshop; settings=... replaces [site] settings in its site.toml."""
    src, _ = template_site

    def make(**settings: object) -> Path:
        dst = tmp_path / "site"
        shutil.copytree(src, dst)
        if settings:
            write_config(dst / "config", **settings)
        return dst

    return make


@pytest.fixture
def jobs(template_site) -> Jobs:
    return template_site[1]


@pytest.fixture
def clock() -> Clock:
    return Clock()
