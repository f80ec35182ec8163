"""Statutory clocks: the official working-day calendar and pure deadline arithmetic.

``calendar`` answers "is this date a working day" (official data with 调休, a
provisional fallback, and admin overrides); ``deadlines`` turns a start time and
a policy into a due time. Neither module touches Flask or the database.
"""
