"""The manager's web board: the board, jobs, KPIs, schedule, drift and metal in a browser, live; the wall; the client's link."""
