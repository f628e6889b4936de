"""The workshop's verbs: the trade areas (jobs, QC and stones, metal, KPIs, the hub) over one journal.

`domain` holds the rules, `store` the journal; this package is what the kiosk and the CLI call.
"""
