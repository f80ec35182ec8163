"""Reports built from many cases: the linked-case report (bulletins live in casework.bulletins)."""
