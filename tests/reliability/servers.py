"""Throwaway servers and processes for the fault tests: a private redis-server, a private PostgreSQL
cluster, and the casework processes pointed at them. Everything here stops what it started."""
from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
CASEWORK = [sys.executable, "-m", "casework.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float, interval: float = 0.1, proc: subprocess.Popen | None = None,
             log: Path | None = None):
    """Poll ``predicate`` until it returns a true value (which is returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        tail = f"\n{log.read_text(errors='replace')[-4000:]}" if log is not None and log.exists() else ""
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}) before {what}{tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)


def stop_group(proc: subprocess.Popen | None, grace: float = 10.0) -> None:
    """SIGTERM the process group ``proc`` leads (it was started with start_new_session), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        proc.wait(timeout=10)


def casework_env(**overrides: str) -> dict[str, str]:
    """The environment for a casework child process: ours minus test-only settings, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in {"CASEWORK_ENV", "TEST_DATABASE_URL"}}
    env.update(overrides)
    return env


def start_casework(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # Its own session: stop_group then takes gunicorn's or RQ's children with it.
    return subprocess.Popen(CASEWORK + args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


# -- Redis -------------------------------------------------------------------------------------------------------
class RedisServer:
    """A private redis-server on a fixed port and data folder; the append-only file (fsync on every write)
    keeps queued jobs across a kill, as a production Redis with AOF would."""

    def __init__(self, workdir: Path):
        self.port, self.dir, self.proc = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def start(self, timeout: float = 15.0) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=(self.dir / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        wait_for(self.ping, f"redis-server on port {self.port}", timeout, interval=0.05, proc=self.proc,
                 log=self.dir / "redis.log")

    def ping(self) -> bool:
        probe = self.client()
        try:
            return bool(probe.ping())
        except redis.ConnectionError:
            return False
        finally:
            probe.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown save; only what the append-only file already holds survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


# -- PostgreSQL --------------------------------------------------------------------------------------------------
def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout, or on PATH)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name),
                            reverse=True):
        if all((Path(candidate) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary folder on a free port (never the machine's server).

    PostgreSQL refuses to run as root, so as root the cluster belongs to ``nobody`` and every server
    command runs through runuser.
    """

    def __init__(self, bindir: Path, run_as: str = "nobody"):
        self.bin, self.port = bindir, free_port()
        # Not under pytest's tmp_path: that is private to root, and the server user must reach its folder.
        self.base = Path(tempfile.mkdtemp(prefix="casework-pg-"))
        self.data, self.log = self.base / "data", self.base / "server.log"
        self.as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", run_as, "--"] if self.as_root else []
        if self.as_root:
            shutil.chown(self.base, user=run_as)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(self.prefix + list(args), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{self.server_log()}")
        return result

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")

    def start(self) -> None:
        # Listen on TCP only at 127.0.0.1, with the socket in our folder (not the shared /var/run/postgresql).
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60",
                  "start", timeout=90)

    def crash(self) -> None:
        """Immediate shutdown: every backend dies mid-statement, no checkpoint; the restart runs crash recovery."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self.prefix + [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# -- HTTP ---------------------------------------------------------------------------------------------------------
def call(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 30.0):
    """(status, json) for an HTTP call; a connection failure raises OSError (URLError is one)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, {"raw": raw[:500].decode(errors="replace")}


# -- a job for the worker tests ------------------------------------------------------------------------------------
def slow_mark(path: str, seconds: float, label: str) -> str:
    """A job that takes ``seconds`` and then appends ``label`` to ``path``: the file shows, without asking
    Redis, that (and how often) the job ran to its end."""
    time.sleep(seconds)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(label + "\n")
    return label
