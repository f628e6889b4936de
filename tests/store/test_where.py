"""The WHERE builder the readers share: a term only for a filter given, parameters in the terms' order."""

import sqlite3

from floorkiosk.store.where import Where


def test_only_the_filters_given_make_terms_and_the_parameters_follow_them():
    w = Where("active = 1").given(None, "alloy = ?").given("", "route = ?").given("qc", "stage = ?")
    w.add("due < ?", "2026-12-01")
    assert w.sql() == " WHERE active = 1 AND stage = ? AND due < ?"
    assert w.params == ["qc", "2026-12-01"]
    assert Where().sql() == "" and Where().cond() == "1" and Where().params == []


def test_the_clause_selects_what_it_says_in_sqlite():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (stage TEXT, alloy TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [("qc", "925"), ("qc", "18KY"), ("polishing", "925")])
    for stage, alloy, n in [(None, None, 3), ("qc", None, 2), ("qc", "925", 1), (None, "925", 2)]:
        w = Where().given(stage, "stage = ?").given(alloy, "alloy = ?")
        assert db.execute("SELECT count(*) FROM t" + w.sql(), w.params).fetchone()[0] == n
        assert db.execute(f"SELECT count(*) FROM t WHERE {w.cond()}", w.params).fetchone()[0] == n
