"""Pure tests of the SLA calendar and deadline arithmetic (no app, no database)."""
