"""`python -m floorkiosk` is the `floorkiosk` command."""

import sys

from floorkiosk.cli import main

sys.exit(main())
