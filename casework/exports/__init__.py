"""Excel and PDF renderings shared by the ledger, the linked-case report and the bulletins."""
