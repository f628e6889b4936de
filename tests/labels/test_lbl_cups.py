"""Printing through a real CUPS scheduler: a queue whose device is a socket this test serves.

Skipped, with the reason, where no cupsd runs; in CI (CI=true) that is a failure: .ci/cups.sh
installs and starts it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from floorkiosk.labels import Printer, PrintFailed, load_template, print_labels, render_pdf, render_zpl

from .helpers import IN_CI, RECORDS

pytestmark = pytest.mark.cups


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CUPS is required in CI: {reason} (.ci/cups.sh installs and starts it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cups_ready() -> None:
    for tool in ("lp", "lpstat", "lpadmin"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            _unavailable(f"{tool} is not installed (Debian's cups-client)")
    status = subprocess.run(["lpstat", "-r"], capture_output=True, text=True)
    if "is running" not in status.stdout or "not running" in status.stdout:
        _unavailable(f"no CUPS scheduler is running here ({(status.stdout or status.stderr).strip()})")


@pytest.fixture
def cups_queue(cups_ready, printer_server):
    """A CUPS queue whose device is socket://127.0.0.1:PORT, served by a PrinterServer."""
    server = printer_server()
    name = f"fk-test-{os.getpid()}-{server.port}"
    lpadmin = shutil.which("lpadmin") or "/usr/sbin/lpadmin"
    made = subprocess.run([lpadmin, "-p", name, "-v", f"socket://127.0.0.1:{server.port}", "-E"],
                          capture_output=True, text=True)
    if made.returncode != 0:
        _unavailable(f"cannot add a CUPS queue: {made.stderr.strip()}")
    try:
        yield name, server
    finally:
        subprocess.run([lpadmin, "-x", name], capture_output=True)


def test_zpl_through_a_raw_cups_queue_arrives_byte_for_byte(cups_queue, job_bag):
    queue, server = cups_queue
    records = [{**RECORDS["job_bag"], "job": f"J{n:06d}"} for n in (31, 32)]
    result = print_labels(Printer(f"cups:{queue}", 203, "zpl"), job_bag, records)
    assert result.sent[0].detail.startswith(queue)  # CUPS' request id, e.g. fk-test-…-12
    (received,) = server.wait(1, timeout=30)
    assert received == render_zpl(job_bag, records, 203)


def test_pdf_for_an_office_printer_goes_through_cups(cups_queue):
    queue, server = cups_queue
    tpl = load_template("badge_card")
    print_labels(Printer(f"cups:{queue}", 300, "pdf"), tpl, [RECORDS["badge_card"]])
    (received,) = server.wait(1, timeout=30)
    assert received.startswith(b"%PDF") and len(received) == len(render_pdf(tpl, [RECORDS["badge_card"]], 300))


def test_unknown_queue_is_named(cups_ready, job_bag):
    with pytest.raises(PrintFailed, match="CUPS queue 'no-such-queue-here' is unknown"):
        print_labels(Printer("cups:no-such-queue-here"), job_bag, [RECORDS["job_bag"]])


def test_a_disabled_queue_says_it_is_not_accepting(cups_queue, job_bag):
    queue, server = cups_queue
    reject = shutil.which("cupsreject") or "/usr/sbin/cupsreject"
    subprocess.run([reject, queue], check=True, capture_output=True)
    with pytest.raises(PrintFailed, match="not accepting jobs"):
        print_labels(Printer(f"cups:{queue}"), job_bag, [RECORDS["job_bag"]])
    assert server.jobs == []


def test_no_scheduler_is_told_apart_from_an_unknown_queue(monkeypatch, job_bag):
    if shutil.which("lp") is None:
        _unavailable("lp is not installed (Debian's cups-client)")
    monkeypatch.setenv("CUPS_SERVER", "127.0.0.1:1")  # nothing listens there
    with pytest.raises(PrintFailed, match="scheduler \\(cupsd\\) is not running"):
        print_labels(Printer("cups:labels"), job_bag, [RECORDS["job_bag"]])
