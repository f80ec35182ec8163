"""Cases: intake, workflow, audit trail."""
