"""Periodic bulletins (定期通报): figures per unit and period, rankings, lists; built by workers."""
