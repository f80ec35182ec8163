"""The workflow engine and the state machines of each case kind, as data."""
