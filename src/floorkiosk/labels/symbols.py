"""The two symbols on every label: QR (qrcode) and Code 128 (python-barcode), plus their ZPL field data.

PNG and PDF draw the module patterns computed here. ZPL lets the Zebra draw its own symbols
(sharp at any dpi), but with field data derived from the same encodings, so a ZPL label's Code 128
has exactly the width the layout reserved for it and its QR the version the layout sized.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import qrcode
import qrcode.constants
import qrcode.util
from barcode.charsets import code128 as c128
from barcode.codex import Code128

# Quartile error correction: job bags get scratched and creased; every payload of the scheme
# (FK:J:J000123 is 12 characters) still fits version 1 (21 x 21 modules) at this level.
QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
QR_ECL_LETTER = "Q"
QR_QUIET = 4  # modules of light margin on each side (ISO/IEC 18004)
CODE128_QUIET = 10  # modules of light margin on each side (ISO/IEC 15417)

_QR_ALNUM = frozenset(qrcode.util.ALPHA_NUM.decode())
_B_CHARS = {value: char for char, value in c128.B.items()}
_A_CHARS = {value: char for char, value in c128.A.items()}
_START = {103: "A", 104: "B", 105: "C"}
# Zebra ^BC invocation codes (ZPL II guide, "Code 128 Invocation Characters"): start codes and the
# CODE A/B/C switches. Symbol values 99/100/101 switch subsets except where they mean FNC4.
_ZPL_START = {"A": ">9", "B": ">:", "C": ">;"}
_ZPL_SWITCH = {99: (">5", "C"), 100: (">6", "B"), 101: (">7", "A")}


class _NoWriter:
    """Stands in for python-barcode's image writer, which we never use and which costs time to build."""


_NO_WRITER = _NoWriter()


class SymbolError(ValueError):
    """A payload that a symbol cannot carry."""


def qr_alphanumeric(payload: str) -> bool:
    """True when QR alphanumeric mode can carry the payload (upper case, digits, space $%*+-./:)."""
    return _QR_ALNUM.issuperset(payload)


@lru_cache(maxsize=256)
def qr_version(alphanumeric: bool, length: int) -> int:
    """The smallest QR version holding `length` characters in the given mode (depends on nothing else)."""
    mode = qrcode.util.MODE_ALPHA_NUM if alphanumeric else qrcode.util.MODE_8BIT_BYTE
    q = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION)
    q.add_data(qrcode.util.QRData((b"A" if alphanumeric else b"a") * length, mode=mode))
    try:
        return q.best_fit()
    except qrcode.exceptions.DataOverflowError:
        raise SymbolError(f"{length} characters are too many for a QR code") from None


def qr_side(payload: str) -> int:
    """Modules on a side of the payload's QR symbol, quiet zone excluded."""
    return 17 + 4 * qr_version(qr_alphanumeric(payload), len(payload.encode("utf-8")))


@lru_cache(maxsize=2048)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (True = dark), quiet zone excluded, in the same mode and version as qr_side."""
    return tuple(tuple(bool(m) for m in row) for row in qr_array(payload))


def _qr_code(payload: str) -> qrcode.QRCode:
    alnum = qr_alphanumeric(payload)
    mode = qrcode.util.MODE_ALPHA_NUM if alnum else qrcode.util.MODE_8BIT_BYTE
    q = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION, border=0)
    q.add_data(qrcode.util.QRData(payload.encode("utf-8"), mode=mode))
    q.best_fit()
    return q


def qr_array(payload: str) -> np.ndarray:
    """The QR modules as a boolean array: exactly the symbol qrcode's make() produces.

    qrcode encodes the data, error correction and function patterns (one makeImpl with mask 0);
    the eight masked variants are then derived with array operations and scored by the same
    penalty rules, instead of qrcode's eight full rebuilds in pure Python, which took most of a
    PNG label's time. tests/labels check the result against qrcode.make() itself.
    """
    q = _qr_code(payload)
    q.makeImpl(False, 0)
    base = np.array(q.modules, dtype=bool)
    func, printed, scored, masks = _qr_frame(q.version)
    data = base ^ masks[0]  # unmasked data bits (function cells are overwritten below)
    variants = data ^ masks  # the data under all eight masks, (8, n, n)
    # argmin takes the first of equal scores: the lowest mask number, as qrcode does.
    best = int(np.argmin(qr_penalties(np.where(func, scored, variants))))
    return np.where(func, printed[best], variants[best])


def qr_variant(payload: str, mask: int) -> np.ndarray:
    """The symbol with a given mask, derived as qr_array derives it (for tests)."""
    q = _qr_code(payload)
    q.makeImpl(False, 0)
    func, printed, _, masks = _qr_frame(q.version)
    return np.where(func, printed[mask], (np.array(q.modules, dtype=bool) ^ masks[0]) ^ masks[mask])


@lru_cache(maxsize=40)
def _qr_frame(version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For a version, from qrcode itself: which cells are function patterns; their values under each
    mask, as printed and as scored (qrcode scores masks with the format information left light);
    and each mask's pattern over the data cells."""
    n = 17 + 4 * version

    def frame(mask: int, test: bool) -> list[list[bool | None]]:
        q = qrcode.QRCode(version=version, error_correction=QR_ERROR_CORRECTION, border=0)
        q.modules_count = n
        q.modules = [[None] * n for _ in range(n)]
        q.setup_position_probe_pattern(0, 0)
        q.setup_position_probe_pattern(n - 7, 0)
        q.setup_position_probe_pattern(0, n - 7)
        q.setup_position_adjust_pattern()
        q.setup_timing_pattern()
        q.setup_type_info(test, mask)
        if version >= 7:
            q.setup_type_number(test)
        return q.modules

    func = np.array([[m is not None for m in row] for row in frame(0, False)], dtype=bool)
    printed = np.stack([np.array(frame(k, False), dtype=bool) for k in range(8)])
    scored = np.stack([np.array(frame(k, True), dtype=bool) for k in range(8)])
    masks = []
    for k in range(8):
        f = qrcode.util.mask_func(k)
        masks.append(np.array([[bool(f(i, j)) and not func[i, j] for j in range(n)] for i in range(n)], dtype=bool))
    return func, printed, scored, np.stack(masks)


# 1:1:3:1:1 dark-light-dark-light-dark with four light modules after or before, as 11-bit numbers.
_FINDER_LIKE = (0b10111010000, 0b00001011101)
_WINDOW_BITS = tuple(1 << (10 - t) for t in range(11))


def _run_penalty(g: np.ndarray) -> np.ndarray:
    """N1 along the last axis: each run of 5 or more same-colour modules costs 3 + (length - 5).

    A run of length L holds L - 4 windows of five equal modules and has one start, so its cost
    L - 2 is (windows) + 2 x (starts): all counted with array slices.
    """
    same = g[..., :-1] == g[..., 1:]
    five = same[..., :-3] & same[..., 1:-2] & same[..., 2:-1] & same[..., 3:]
    starts = five.copy()
    starts[..., 1:] &= ~same[..., :-4]
    return five.sum(axis=(-2, -1)) + 2 * starts.sum(axis=(-2, -1))


def qr_penalties(stack: np.ndarray) -> np.ndarray:
    """The ISO/IEC 18004 mask penalty of each symbol in a (k, n, n) stack: N1 runs, N2 2x2 blocks,
    N3 finder-like patterns, N4 dark/light balance; scored together so numpy's per-call cost is
    paid once for all eight masks."""
    m = stack
    t = np.swapaxes(m, -1, -2)
    score = _run_penalty(m) + _run_penalty(t)
    a = m[..., :-1, :-1]
    same = (a == m[..., 1:, :-1]) & (a == m[..., :-1, 1:]) & (a == m[..., 1:, 1:])
    score += 3 * same.sum(axis=(-2, -1))
    n = m.shape[-1]
    for grid in (m.astype(np.int32), t.astype(np.int32)):
        # Each 11-module window of a row read as an 11-bit number, all windows at once.
        windows = sum(grid[..., k : n - 10 + k] * _WINDOW_BITS[k] for k in range(11))
        hits = (windows == _FINDER_LIKE[0]) | (windows == _FINDER_LIKE[1])
        score += 40 * hits.sum(axis=(-2, -1))
    dark = m.sum(axis=(-2, -1)) * 100 / (n * n)
    score += 10 * (np.abs(dark - 50) // 5).astype(np.int64)
    return score


def qr_penalty(m: np.ndarray) -> int:
    return int(qr_penalties(m[None])[0])


def zpl_qr_data(payload: str) -> str:
    """^FD data for ^BQ: error correction, manual input and the character mode named explicitly, so
    the printer cannot pick another mode (and so another version) than the layout sized."""
    if qr_alphanumeric(payload):
        return f"{QR_ECL_LETTER}M,A{payload}"
    data = payload.encode("utf-8")
    return f"{QR_ECL_LETTER}M,B{len(data):04d}{payload}"


_DIGITS = frozenset("0123456789")
_B_ONLY = frozenset(c128.B) - {"\xf1"}  # printable ASCII: every character of the payload scheme


def code128_values(payload: str) -> tuple[int, ...]:
    """Symbol values: start code, data and subset switches, without check symbol and stop.

    Payloads of printable ASCII (all of ours) take a short path that makes exactly the choices
    python-barcode makes (tests/labels check this on thousands of payloads): ZPL is written for
    thousands of labels a second and python-barcode's encoder is most of that time. Anything else
    goes to python-barcode itself.
    """
    if payload and _B_ONLY.issuperset(payload):
        return _values_b_c(payload)
    return _code128_values_lib(payload)


def _values_b_c(payload: str) -> tuple[int, ...]:
    """python-barcode's rule for text within subset B: start in B (C if it opens with 4+ digits),
    switch to C before a run of 4 or more digits, back to B at the next non-digit, and an odd
    digit left over in C is written in B after switching back."""
    b = c128.B
    n = len(payload)
    out: list[int] = []
    subset = "C"
    pending = ""  # a first digit waiting for its pair in subset C
    i = 0
    while i < n:
        ch = payload[i]
        if subset == "C":
            if ch in _DIGITS:
                if pending:
                    out.append(int(pending + ch))
                    pending = ""
                else:
                    pending = ch
                i += 1
                continue
            out.append(100)  # CODE B
            subset = "B"
            if pending:
                out.append(b[pending])
                pending = ""
        else:
            run = 0
            while run < 10 and i + run < n and payload[i + run] in _DIGITS:
                run += 1
            if run > 3:
                out.append(99)  # CODE C
                subset = "C"
                continue
        out.append(b[ch])
        i += 1
    if pending:
        out.append(100)
        out.append(b[pending])
    # An opening switch becomes the start code, as python-barcode's _try_to_optimize does.
    if out and out[0] == 100:
        return (104, *out[1:])
    return (105, *out)


@lru_cache(maxsize=256)
def _code128_values_lib(payload: str) -> tuple[int, ...]:
    if not payload:
        raise SymbolError("an empty payload cannot be printed as Code 128")
    try:
        # A fresh encoder each time: python-barcode keeps its current subset on the instance.
        return tuple(Code128(payload, writer=_NO_WRITER).encoded)
    except (ValueError, RuntimeError) as exc:
        raise SymbolError(f"Code 128 cannot carry {payload!r}: {exc}") from None


def code128_modules(payload: str) -> str:
    """The bar pattern, '1' dark and '0' light per module, check symbol and stop included."""
    return Code128(payload, writer=_NO_WRITER).build()[0]


def code128_width(values: tuple[int, ...]) -> int:
    """Modules from first to last bar: data symbols, check symbol (11 each) and stop (13)."""
    return 11 * (len(values) + 1) + 13


def zpl_code128_data(payload: str, values: tuple[int, ...] | None = None) -> str:
    """^FD data for ^BC in mode N, with Zebra invocation codes spelling out the same subsets and
    switches as python-barcode chose, so printer and PNG produce the same symbol."""
    if values is None:
        values = code128_values(payload)
    subset = _START[values[0]]
    out = [_ZPL_START[subset]]
    for v in values[1:]:
        if v in _ZPL_SWITCH and not (subset == "B" and v == 100) and not (subset == "A" and v == 101):
            code, subset = _ZPL_SWITCH[v]
            out.append(code)
        elif subset == "C":
            out.append(f"{v:02d}")
        else:
            char = (_B_CHARS if subset == "B" else _A_CHARS).get(v)
            if char is None or not (" " <= char <= "~") or char in "^~":
                # Control characters, FNC codes and ZPL's own prefixes never occur in our payloads.
                raise SymbolError(f"Code 128 payload {payload!r} has a character ZPL cannot carry")
            out.append("><" if char == ">" else char)
    return "".join(out)
