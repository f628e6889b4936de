"""A WHERE clause built from the filters a reader was given, with its parameters in order."""

from __future__ import annotations

from typing import Any


class Where:
    """Terms joined with AND; a term is added only where its filter was given.

    >>> w = Where("active = 1").given(None, "alloy = ?").given("qc", "stage = ?")
    >>> w.sql(), w.params
    (' WHERE active = 1 AND stage = ?', ['qc'])
    """

    def __init__(self, *terms: str) -> None:
        self.terms = list(terms)
        self.params: list[Any] = []

    def add(self, term: str, *params: Any) -> Where:
        self.terms.append(term)
        self.params.extend(params)
        return self

    def given(self, value: Any, term: str) -> Where:
        """`term` with `value` as its one parameter, if a value was given (None, "" and False are not)."""
        return self.add(term, value) if value not in (None, "", False) else self

    def cond(self) -> str:
        """The terms alone, for a query that adds its own ("1" where there are none)."""
        return " AND ".join(self.terms) or "1"

    def sql(self) -> str:
        """" WHERE …", or nothing where there are no terms."""
        return " WHERE " + " AND ".join(self.terms) if self.terms else ""
