"""Unbound extensions, bound to an application in ``create_app``.

Nothing here opens a connection at import time.
"""
from __future__ import annotations

from casework.db import Database
from casework.problem import ProblemApi
from casework.redis_conn import RedisHandle

db = Database()
api = ProblemApi()
redis_store = RedisHandle()
