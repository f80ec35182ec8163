"""Rectification ledgers (整改台账): inspection findings turned into tracked items."""
