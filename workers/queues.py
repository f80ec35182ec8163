"""Queue names, declared once."""
DEFAULT = "default"
SLA = "sla"
REPORTS = "reports"
ALL = (DEFAULT, SLA, REPORTS)
