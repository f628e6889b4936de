"""The journal (append-only, hash-chained events) in SQLite and the tables derived from it."""
