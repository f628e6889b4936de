"""Errors a person can act on. The CLI and the kiosk show their message, never a traceback."""


class FloorkioskError(Exception):
    """Base of every error whose message is meant for a person at a bench or a terminal."""


class ConfigError(FloorkioskError):
    """A site config file is malformed or inconsistent; each problem is 'file:line: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NotFound(FloorkioskError):
    pass


class Refused(FloorkioskError):
    """An action that cannot be done as asked (a wrong badge, a missing PIN, bad input)."""
