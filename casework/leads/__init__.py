"""Problem leads (问题线索) handled with discipline inspection (联查联办、直查直办)."""
