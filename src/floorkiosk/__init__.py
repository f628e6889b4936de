"""floorkiosk: the shop-floor system for jewelry workshops."""

__version__ = "0.1.0"
