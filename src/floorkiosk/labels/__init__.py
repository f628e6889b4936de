"""Labels: templates rendered to ZPL, PNG or PDF, and printed to Zebra or office printers.

    tpl = load_template("job_bag")
    render_zpl(tpl, [fields, ...], dpi=203)     -> bytes for a Zebra
    render_png(tpl, fields, dpi=300)            -> one PNG label
    render_pdf(tpl, [fields, ...], dpi=300)     -> one label per page, stock size
    render_sheet_pdf(tpl, [...], dpi=300, paper="A4")  -> many labels per A4 or Letter page
    print_labels(printer, tpl, [fields, ...])   -> sends them (call it from a worker thread)

`fields` is a plain mapping: for a job bag, what Shop.label_fields(job_id) returns.
"""

from __future__ import annotations

from floorkiosk.labels.layout import SUPPORTED_DPI, LabelError, Layout, layout
from floorkiosk.labels.printing import Printer, PrintQueue, PrintResult, build, print_labels, print_queue
from floorkiosk.labels.render import (
    FORMATS,
    layouts,
    render,
    render_pdf,
    render_png,
    render_sheet_pdf,
    render_zpl,
)
from floorkiosk.labels.templates import Template, list_templates, load_template, template_names
from floorkiosk.labels.transport import PrintFailed, Sent, send

__all__ = [
    "FORMATS",
    "SUPPORTED_DPI",
    "LabelError",
    "Layout",
    "PrintFailed",
    "PrintQueue",
    "PrintResult",
    "Printer",
    "Sent",
    "Template",
    "build",
    "layout",
    "layouts",
    "list_templates",
    "load_template",
    "print_labels",
    "print_queue",
    "render",
    "render_pdf",
    "render_png",
    "render_sheet_pdf",
    "render_zpl",
    "send",
    "template_names",
]
