"""The README's run command works on the embedded default in an empty folder with no environment."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CASEWORK = Path(sys.executable).with_name("casework")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture()
def embedded_service(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("CASEWORK_") or k in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "SECRET_KEY"})}
    port = _free_port()
    log = (tmp_path / "up.log").open("w+")
    proc = subprocess.Popen([str(CASEWORK), "up", "--port", str(port), "--workers", "1"], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"casework up exited early:\n{log.read()}")
            try:
                if _call("GET", base + "/readyz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail(f"service never became ready:\n{log.read()}")
        log.seek(0)
        yield base, log.read(), tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp_path / "instance", ignore_errors=True)


def test_up_on_embedded_default(embedded_service):
    base, output, folder = embedded_service
    assert (folder / "instance" / "casework.db").exists()
    match = re.search(r"username 'admin', password '([^']+)'", output)
    assert match, output
    status, token = _call("POST", base + "/api/v1/auth/token", {"username": "admin", "password": match.group(1)})
    assert status == 200
    admin_token = token["access_token"]
    status, unit = _call("GET", base + "/api/v1/units/360827", token=admin_token)
    assert status == 200 and unit["name"] == "遂川县"
    status, user = _call("POST", base + "/api/v1/users",
                         {"username": "smoke_clerk", "password": "smoke-clerk-pass", "role": "clerk", "unit": "360827"},
                         token=admin_token)
    assert status == 201
    status, token = _call("POST", base + "/api/v1/auth/token", {"username": "smoke_clerk", "password": "smoke-clerk-pass"})
    status, me = _call("GET", base + "/api/v1/users/me", token=token["access_token"])
    assert status == 200 and me["unit"] == "360827" and me["id"] == user["id"]
    # The worker and the scheduler came up with the API, and a scheduled job ran on the worker.
    deadline = time.monotonic() + 30
    needed = ("Listening on default, sla, reports", "CronScheduler", "workers.jobs.heartbeat() job")
    while time.monotonic() < deadline and not all(n in (folder / "up.log").read_text() for n in needed):
        time.sleep(0.5)
    text = (folder / "up.log").read_text()
    assert all(n in text for n in needed), text
