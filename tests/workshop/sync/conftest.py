"""Fixtures for the hub tests: a real PostgreSQL (FLOORKIOSK_TEST_PG), one schema and roles per test.

Each test gets its own hub schema (and bench roles named after it), created and dropped around
it, so the tests run in parallel under pytest-xdist. Without a reachable server the tests skip
and say why; under CI=true they fail instead, because there the server is part of the job.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from floorkiosk.paths import example_config_dir
from hubkit import Hub, hub_config

HERE = Path(__file__).resolve().parent


def _unavailable(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    dsn = os.environ.get("FLOORKIOSK_TEST_PG")
    if not dsn:
        _unavailable("FLOORKIOSK_TEST_PG is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    import psycopg

    from floorkiosk.store.hub import mask_dsn

    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {mask_dsn(dsn)} is not reachable: {' '.join(str(exc).split())[:200]}")
    return dsn


@pytest.fixture
def pg_hub(pg_dsn, tmp_path):
    from floorkiosk.domain.config import load_site
    from floorkiosk.store import hub

    schema = f"fk_t_{uuid.uuid4().hex[:10]}"
    h = Hub(pg_dsn, schema, tmp_path / "hub-credentials")
    benches = list(load_site(example_config_dir()).benches)
    hub.init_hub(h.admin, benches, h.creds)
    yield h
    hub.drop_hub(h.admin)


@pytest.fixture
def make_kiosk(pg_hub, tmp_path):
    """make_kiosk(name, bench, dsn=None) -> an open Shop with its own site folder and bench account,
    its origin registered to the bench's role (register=False: not registered)."""
    from floorkiosk.store import hub
    from floorkiosk.workshop.site import init_site, open_shop

    shops = []

    def make(name: str, bench: str, dsn: str | None = None, clock=None, register: bool = True):
        cfg = tmp_path / f"config-{name}"
        hub_config(cfg, dsn or pg_hub.dsn)
        d = tmp_path / name
        init_site(d, cfg, origin=f"{pg_hub.schema}-{name}")
        shutil.copy(pg_hub.creds / f"{bench}.toml", d / "hub.toml")
        if register:  # as an admin does with `hub add-origin`
            hub.register_origin(pg_hub.admin, f"{pg_hub.schema}-{name}", bench)
        shop = open_shop(d, clock=clock)
        shops.append(shop)
        return shop

    yield make
    for s in shops:
        s.close()
