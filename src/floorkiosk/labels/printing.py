"""Printing labels: the printer's bytes built by a pure function, then sent by a thin transport.

`print_labels` blocks (a slow or offline printer takes seconds to say so); the kiosk calls it from
a worker, or hands it to `PrintQueue`, whose one thread prints jobs in the order given and returns
a Future, so the screen never waits on a printer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floorkiosk.labels.layout import LabelError, check_dpi
from floorkiosk.labels.pdf import PAPERS
from floorkiosk.labels.render import render
from floorkiosk.labels.templates import Template
from floorkiosk.labels.transport import PrintFailed, Sent, send

LANGUAGES = ("zpl", "pdf", "png")


@dataclass(frozen=True)
class Printer:
    """Where and how a bench prints (the same fields as the site config's [benches.printer])."""

    uri: str  # tcp://host:9100, cups:QUEUE or file:/path
    dpi: int = 203  # 203, 300 or 600
    language: str = "zpl"  # zpl for Zebras; pdf or png for office printers through CUPS
    template_size: str | None = None  # pdf: A4 or Letter prints sheets of labels; unset, one per page

    @classmethod
    def of(cls, printer: Any) -> Printer:
        """Accept a Printer, the site config's PrinterConfig, or anything with the same attributes."""
        if isinstance(printer, cls):
            return printer
        if printer is None:
            raise LabelError("no printer: this bench has none in the site config")
        return cls(str(printer.uri), getattr(printer, "dpi", 203), getattr(printer, "language", "zpl"),
                   getattr(printer, "template_size", None))

    def check(self) -> Printer:
        check_dpi(self.dpi)
        if self.language not in LANGUAGES:
            raise LabelError(f"printer language {self.language!r} is not one of {', '.join(LANGUAGES)}")
        if self.paper is None and self.template_size and self.language == "pdf":
            raise LabelError(f"printer template_size {self.template_size!r}: sheets print on {' or '.join(PAPERS)}")
        return self

    @property
    def paper(self) -> str | None:
        for name in PAPERS:
            if str(self.template_size or "").lower() == name.lower():
                return name
        return None


@dataclass(frozen=True)
class PrintResult:
    printer: str  # the printer's uri
    labels: int
    sent: tuple[Sent, ...]

    def __str__(self) -> str:
        where = ", ".join(s.where + (f" ({s.detail})" if s.detail else "") for s in self.sent)
        return f"{self.labels} label{'s' if self.labels != 1 else ''} to {where}"


def build(printer: Printer, template: Template, records: Iterable[Mapping[str, Any]], copies: int = 1) -> list[bytes]:
    """The documents to send, one per job for the printer: pure, no I/O, raises before any is sent."""
    printer = printer.check()
    return render(template, list(records), printer.language, printer.dpi, paper=printer.paper, copies=copies)


def print_labels(printer: Any, template: Template, records: Mapping[str, Any] | Iterable[Mapping[str, Any]], *,
                 copies: int = 1, site_dir: str | Path | None = None, title: str | None = None) -> PrintResult:
    """Render and send labels; blocks until the printer or queue has them.

    Raises LabelError (bad template, record or printer settings: nothing is sent) or PrintFailed
    (the printer did not take them: offline, unknown queue, out of paper).
    """
    target = Printer.of(printer)
    recs = [records] if isinstance(records, Mapping) else list(records)
    if not recs:
        raise LabelError("no labels to print")
    docs = build(target, template, recs, copies)
    raw = target.language == "zpl"
    suffix = "." + target.language
    sent = []
    for i, doc in enumerate(docs):
        uri = target.uri
        if len(docs) > 1 and uri.startswith("file:") and not _is_dir_or_device(uri, site_dir):
            uri = _numbered(uri, i + 1)  # one PNG per label: label.png, label-2.png, …
        sent.append(send(uri, doc, raw=raw, title=title or f"{template.title} x{len(recs)}",
                         site_dir=site_dir, suffix=suffix))
    return PrintResult(target.uri, len(recs) * copies, tuple(sent))


def _is_dir_or_device(uri: str, site_dir: str | Path | None) -> bool:
    path = Path(uri[len("file:"):])
    if not path.is_absolute() and site_dir is not None:
        path = Path(site_dir) / path
    return path.is_dir() or path.is_char_device()


def _numbered(uri: str, n: int) -> str:
    if n == 1:
        return uri
    path = Path(uri[len("file:"):])
    return "file:" + str(path.with_name(f"{path.stem}-{n}{path.suffix}"))


class PrintQueue:
    """One printing thread: jobs print in the order submitted, and submit() returns at once."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floorkiosk-print")

    def submit(self, printer: Any, template: Template, records: Mapping[str, Any] | Iterable[Mapping[str, Any]],
               **kw: Any) -> Future[PrintResult]:
        if isinstance(records, Mapping):
            records = [records]
        # Copied now: the caller may change its records while the job waits its turn.
        return self._pool.submit(print_labels, printer, template, [dict(r) for r in records], **kw)

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


_default: PrintQueue | None = None
_default_lock = threading.Lock()


def print_queue() -> PrintQueue:
    """The process's shared print queue, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PrintQueue()
        return _default


__all__ = ["LANGUAGES", "PrintFailed", "PrintQueue", "PrintResult", "Printer", "build", "print_labels", "print_queue"]
