"""Positions from a CSV file, and a portfolio exported to one (issue 15).

The flow: an upload is read and parsed without the database (`parsing`), then compared with
the portfolio (`plan`): what would be created, changed, left unchanged or left alone, and
every row's problem. The report is a dry run; applying it (`services.import_apply`) re-plans
under a lock on the portfolio and writes everything in one transaction, or nothing. The file
waits between the two in the cache under a token kept in the session (`pending`).

Formats (`formats`): our own positions file (what the export writes), Ghostfolio's and
Wealthfolio's activity files (positions are the net of their trades, at average cost) and
Interactive Brokers' Flex "Open Positions" report.
"""
