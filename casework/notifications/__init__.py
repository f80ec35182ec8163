"""Notifications to units, and signed webhooks."""
