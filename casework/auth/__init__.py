"""Users, tokens, roles and jurisdiction."""
