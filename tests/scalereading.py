"""Weights as the tests record them: a stable reading of the bench's scale, as the kiosk hands it on."""

from __future__ import annotations

import functools

from floorkiosk.workshop import verbs

# What the kiosk passes with a reading of a bench's balance; a test weighs as that bench would.
SCALE = verbs.FromScale("and-standard", "ST,+00012.480  g")

weigh = functools.partial(verbs.record_weight, source=SCALE)
