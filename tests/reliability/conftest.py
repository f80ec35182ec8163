"""The case fixtures the audit-integrity tests drive cases with (defined once, in tests/cases)."""
from tests.cases.conftest import act, intake  # noqa: F401  (fixtures)
