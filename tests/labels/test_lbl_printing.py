"""Printing over real transports: a TCP server standing in for a Zebra's port 9100, files, and the
print queue thread. Every failure says why; a failed or refused print sends nothing."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time

import pytest

from floorkiosk.domain.config import PrinterConfig
from floorkiosk.errors import Refused
from floorkiosk.labels import (
    LabelError,
    Printer,
    PrintFailed,
    PrintQueue,
    load_template,
    print_labels,
    render_pdf,
    render_zpl,
)
from floorkiosk.labels.transport import parse_host_status, send, send_file

from .helpers import RECORDS, decode_png, hs_reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jobs(n: int) -> list[dict]:
    return [{**RECORDS["job_bag"], "job": f"J{i:06d}"} for i in range(1, n + 1)]


def test_zpl_reaches_the_printer_port_byte_for_byte(printer_server, job_bag):
    server = printer_server()
    records = jobs(3)
    result = print_labels(Printer(server.uri, 203, "zpl"), job_bag, records)
    (received,) = server.wait(1)
    assert received == render_zpl(job_bag, records, 203)
    assert result.labels == 3 and "tcp://127.0.0.1" in str(result)


def test_a_large_batch_goes_through_whole(printer_server, job_bag):
    server = printer_server()
    records = jobs(2000)  # about a megabyte of ZPL: several TCP windows
    print_labels(Printer(server.uri, 300, "zpl"), job_bag, records)
    (received,) = server.wait(1)
    assert received == render_zpl(job_bag, records, 300) and len(received) > 500_000


def test_site_config_printer_is_accepted_as_is(printer_server, job_bag):
    server = printer_server()
    print_labels(PrinterConfig(server.uri, 600, "zpl"), job_bag, [RECORDS["job_bag"]])
    assert server.wait(1)[0] == render_zpl(job_bag, RECORDS["job_bag"], 600)


def test_offline_printer_says_so(job_bag):
    port = free_port()  # nothing listens here
    with pytest.raises(PrintFailed, match=f"127.0.0.1:{port} is offline \\(connection refused\\)"):
        print_labels(Printer(f"tcp://127.0.0.1:{port}"), job_bag, [RECORDS["job_bag"]])


def test_unknown_printer_host_says_so(job_bag):
    with pytest.raises(PrintFailed, match="unknown on this network"):
        send("tcp://no-such-printer.invalid:9100", b"^XA^XZ")


@pytest.mark.parametrize("flags,words", [
    (dict(paper_out=True), "out of paper"),
    (dict(head_open=True), "print head open"),
    (dict(ribbon_out=True), "out of ribbon"),
    (dict(paused=True), "is paused"),
])
def test_zebra_status_stops_a_print_that_cannot_come_out(printer_server, job_bag, flags, words):
    server = printer_server(status=hs_reply(**flags))
    with pytest.raises(PrintFailed, match=words):
        print_labels(Printer(server.uri + "?status=1"), job_bag, [RECORDS["job_bag"]])
    time.sleep(0.1)
    assert server.jobs == []  # the status query is not a print job, and nothing else was sent


def test_zebra_status_ready_then_prints(printer_server, job_bag):
    server = printer_server(status=hs_reply())
    print_labels(Printer(server.uri + "?status=1"), job_bag, [RECORDS["job_bag"]])
    assert server.wait(1) == [render_zpl(job_bag, RECORDS["job_bag"], 203)]


def test_a_silent_zebra_is_reported(printer_server, job_bag):
    server = printer_server(status=hs_reply(), silent_status=True)
    with pytest.raises(PrintFailed, match="did not answer its status query"):
        print_labels(Printer(server.uri + "?status=1"), job_bag, [RECORDS["job_bag"]])


def test_host_status_parsing():
    assert parse_host_status(hs_reply()).problem() is None
    assert parse_host_status(hs_reply(paper_out=True)).paper_out
    with pytest.raises(PrintFailed, match="incomplete"):
        parse_host_status(b"\x02030,1,0\x03\r\n")


def test_file_printer_writes_the_whole_file(tmp_path, job_bag):
    out = tmp_path / "out" / "casting.zpl"
    print_labels(Printer(f"file:{out}"), job_bag, jobs(2))
    assert out.read_bytes() == render_zpl(job_bag, jobs(2), 203)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["casting.zpl"]  # no temporary file left


def test_relative_file_printer_is_in_the_site_folder(tmp_path, job_bag):
    print_labels(Printer("file:labels-out/qc.pdf", 300, "pdf"), job_bag, [RECORDS["job_bag"]], site_dir=tmp_path)
    data = (tmp_path / "labels-out" / "qc.pdf").read_bytes()
    assert data.startswith(b"%PDF") and len(data) == len(render_pdf(job_bag, [RECORDS["job_bag"]], 300))


def test_a_folder_printer_gets_a_new_file_each_time(tmp_path, job_bag):
    print_labels(Printer(f"file:{tmp_path}"), job_bag, jobs(1))
    print_labels(Printer(f"file:{tmp_path}"), job_bag, jobs(1))
    assert len(list(tmp_path.glob("label-*.zpl"))) == 2


def test_png_printer_writes_one_image_per_label(tmp_path, job_bag):
    result = print_labels(Printer(f"file:{tmp_path / 'bag.png'}", 300, "png"), job_bag, jobs(3))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["bag-2.png", "bag-3.png", "bag.png"] and len(result.sent) == 3
    assert decode_png((tmp_path / "bag-3.png").read_bytes())[0] == ("Code128", "FK:J:J000003")


def test_unwritable_file_says_why(tmp_path, job_bag):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(PrintFailed, match="cannot write the labels"):
        send_file(str(blocker / "sub" / "x.zpl"), b"data")


def test_bad_printer_settings_send_nothing(printer_server, job_bag):
    server = printer_server()
    with pytest.raises(Refused, match="203, 300 or 600"):
        print_labels(Printer(server.uri, 250, "zpl"), job_bag, [RECORDS["job_bag"]])
    with pytest.raises(LabelError, match="language"):
        print_labels(Printer(server.uri, 203, "escpos"), job_bag, [RECORDS["job_bag"]])
    with pytest.raises(LabelError, match="A4 or Letter"):
        print_labels(Printer(server.uri, 300, "pdf", "A3"), job_bag, [RECORDS["job_bag"]])
    with pytest.raises(PrintFailed, match="is not one of"):
        print_labels(Printer("lpt1", 203, "zpl"), job_bag, [RECORDS["job_bag"]])
    time.sleep(0.2)
    assert server.jobs == []


def test_one_bad_record_stops_the_whole_batch(printer_server, job_bag):
    server = printer_server()
    records = jobs(3)
    records[2] = {**records[2], "job": "not-a-job"}
    with pytest.raises(LabelError):
        print_labels(Printer(server.uri), job_bag, records)
    time.sleep(0.2)
    assert server.jobs == []


def test_print_queue_never_blocks_the_caller(job_bag):
    """A printer that takes two seconds to read its port: submit() returns at once, the Future waits."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    got: list[bytes] = []

    def slow_printer() -> None:
        time.sleep(2.0)
        conn, _ = listener.accept()
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            got.append(data)

    printer_thread = threading.Thread(target=slow_printer, daemon=True)
    printer_thread.start()
    queue = PrintQueue()
    try:
        started = time.monotonic()
        future = queue.submit(Printer(f"tcp://127.0.0.1:{port}"), job_bag, RECORDS["job_bag"])
        assert time.monotonic() - started < 0.2
        assert not future.done()
        result = future.result(timeout=15)
        printer_thread.join(timeout=15)
        assert result.labels == 1 and got == [render_zpl(job_bag, RECORDS["job_bag"], 203)]
    finally:
        queue.close()
        listener.close()


def test_print_queue_reports_failures_through_the_future(job_bag):
    queue = PrintQueue()
    try:
        future = queue.submit(Printer(f"tcp://127.0.0.1:{free_port()}"), job_bag, RECORDS["job_bag"])
        with pytest.raises(PrintFailed, match="offline"):
            future.result(timeout=15)
    finally:
        queue.close()


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs a character device")
def test_a_device_printer_is_written_in_place(job_bag):
    # /dev/null stands in for /dev/usb/lp0: written to, never replaced by a regular file.
    sent = send_file("/dev/null", b"^XA^XZ")
    assert sent.where == "/dev/null" and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_templates_load_once_for_all_labels():
    assert load_template("job_bag") == load_template("job_bag")
