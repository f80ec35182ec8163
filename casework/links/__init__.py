"""Links between cases, and the graph walk behind the linked-case report."""
