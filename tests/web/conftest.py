"""Fixtures of the web board's tests: a small site with jobs, a photo and web users, and a signed-in client."""

from __future__ import annotations

import pytest
from webkit import CHECKLIST, INJECT, PASSWORD, Served

from floorkiosk.web.people import Users


class Tick:
    """A monotonic clock moved by hand, for sessions and the sign-in limit."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def tick() -> Tick:
    return Tick()


@pytest.fixture
def floor(shop, photo):
    """Three jobs: J000001 through consultation with a photo, J000002 a rush, J000003 named with markup."""
    from floorkiosk.workshop import verbs

    j1 = verbs.create_job(shop, route="custom-ring", design="Halo ring", alloy="18KY", due="2027-03-01",
                          client="Aisha Bello", stones=[{"count": 3, "shape": "round", "kind": "diamond",
                                                         "ct": "0.05", "cert": "GIA 2141438171"}])
    j2 = verbs.create_job(shop, route="custom-ring", design="Signet", alloy="PT950", due="2026-11-25",
                          client="Omar Haddad", priority="rush")
    j3 = verbs.create_job(shop, route="custom-ring", design=INJECT, alloy="18KY", due="2027-01-10", client=INJECT,
                          spec=INJECT)
    verbs.start(shop, j1, "dev", "design")
    verbs.attach_photo(shop, j1, "dev", "design", photo)
    verbs.finish(shop, j1, "dev", "design", checklist=CHECKLIST)
    users = Users(shop.dir)
    users.add("eva", "manager", PASSWORD, "eva")
    users.add("sue", "supervisor", PASSWORD)
    users.add("sam", "sales", PASSWORD)
    return {"jobs": [j1, j2, j3], "photo": photo, "users": users}


@pytest.fixture
def app(shop, floor, tick):
    from floorkiosk.web.app import make_app
    from floorkiosk.web.people import LoginLimit, Sessions

    return make_app(shop, users=floor["users"], sessions=Sessions(seconds=3600, clock=tick),
                    limit=LoginLimit(tries=5, window=300, clock=tick), hub=False)


@pytest.fixture
def client(app):
    from starlette.testclient import TestClient

    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def served(app):
    with Served(app) as s:
        yield s
