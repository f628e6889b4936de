"""The messages the kiosk's screens, dialogs and device threads send the app, which alone acts on them.

Screens never call the app: they post one of these (``self.app.post_message(Say(...))``, safe from
any thread) and KioskApp handles it. The frequent ones from the devices replace one still waiting,
so a balance reporting ten times a second never floods the queue.
"""

from __future__ import annotations

from textual.message import Message

from floorkiosk.devices.scaleparse import Reading, ScaleStatus
from floorkiosk.kiosk.devices import Cell

ScaleEvent = Reading | ScaleStatus


class Say(Message):
    """Tell the person something on the message line of the screen in front."""

    def __init__(self, text: str, kind: str = "info") -> None:
        super().__init__()
        self.text = text
        self.kind = kind  # info, ok, warn, error


class ScanRead(Message):
    """A code read: a serial, HID or camera scanner, the code entry ("typed"), a pasted demo code.

    The keyboard wedge's scans are read by the app itself, from its key events.
    """

    def __init__(self, text: str, source: str) -> None:
        super().__init__()
        self.text = text
        self.source = source


class OpenJob(Message):
    """Show a job bag's card (picked from the worklist)."""

    def __init__(self, job: str) -> None:
        super().__init__()
        self.job = job


class LogIn(Message):
    """Log in the person of this badge at the bench, as their badge scanned on the worklist does."""

    def __init__(self, badge: str) -> None:
        super().__init__()
        self.badge = badge


class Logout(Message):
    """The person at the bench logs out (L, Esc or CANCEL on the worklist)."""


class NewBatch(Message):
    """Start a new batch here: job bags scanned one after another (N on the worklist, or the BATCH card)."""


class EditStones(Message):
    """Add stone lines to a job's card (T on the card, at the bench where its route begins)."""

    def __init__(self, job: str) -> None:
        super().__init__()
        self.job = job


class PrintLabel(Message):
    """Reprint a job bag's label on the bench printer, for this reason."""

    def __init__(self, job: str, reason: str) -> None:
        super().__init__()
        self.job = job
        self.reason = reason


class ScaleUpdate(Message):
    """A reading or state from the balance; a newer one replaces one not yet shown."""

    def __init__(self, event: ScaleEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScaleUpdate)


class DeviceChanged(Message):
    """A device's state changed; the strip shows every cell anew, so a newer one replaces one waiting."""

    def __init__(self, cell: Cell) -> None:
        super().__init__()
        self.cell = cell

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DeviceChanged)


class HeldKeysDue(Message):
    """The scanner's gap has passed since the last held key: release it as typed, if nothing followed.

    Posted by a timer rather than acted on in the timer's own task, so that it is handled after the
    keys already waiting in the queue (a busy screen must not cut a scan in two).
    """
