"""Fixtures for the label tests (helpers.py holds the pieces they are made of)."""

from __future__ import annotations

import pytest

from floorkiosk.labels import load_template

from .helpers import RECORDS, PrinterServer


@pytest.fixture(params=sorted(RECORDS))
def template_name(request) -> str:
    return request.param


@pytest.fixture
def job_bag():
    return load_template("job_bag")


@pytest.fixture
def printer_server():
    servers: list[PrinterServer] = []

    def make(**kw) -> PrinterServer:
        s = PrinterServer(**kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
