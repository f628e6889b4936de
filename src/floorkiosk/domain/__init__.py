"""Pure rules of the workshop: jobs, routes, guardrails, metals and units. No I/O here."""
