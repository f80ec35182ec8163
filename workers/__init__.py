"""RQ worker entry point, the periodic schedule, and the job functions."""
