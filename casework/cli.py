"""The ``casework`` console script."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
import sqlalchemy as sa

from casework.app import create_app
from casework.extensions import db


def _app():
    return create_app()


@click.group()
def main() -> None:
    """casework: petition and complaint case routing."""


def with_app(fn):
    """Run ``fn`` in an app context; commit on success, roll back on error (the CLI's single commit point)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        app = _app()
        with app.app_context():
            try:
                result = fn(app, *args, **kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise

    return wrapper


# -- db ---------------------------------------------------------------------
@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_app
def db_upgrade(app, revision: str) -> None:
    """Apply migrations to DATABASE_URL (or the embedded SQLite file)."""
    from casework.migrate import upgrade

    upgrade(app.config["SQLALCHEMY_URL"], revision)
    click.echo(f"database at {_safe_url(app)} is at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_app
def db_downgrade(app, revision: str) -> None:
    """Revert migrations down to REVISION (``base`` empties the schema)."""
    from casework.migrate import downgrade

    downgrade(app.config["SQLALCHEMY_URL"], revision)
    click.echo(f"database downgraded to {revision}")


def _safe_url(app) -> str:
    return sa.engine.make_url(app.config["SQLALCHEMY_URL"]).render_as_string(hide_password=True)


# -- units ------------------------------------------------------------------
@main.group("units")
def units_group() -> None:
    """The unit tree."""


@units_group.command("load")
@click.option("--quiet", is_flag=True, help="no progress bar")
@with_app
def units_load(app, quiet: bool) -> None:
    """Load the national division table (idempotent)."""
    from tqdm import tqdm

    from casework.units.loader import DATA_FILE, load_units, read_divisions, unit_rows

    total = len(unit_rows(read_divisions(DATA_FILE)))
    with tqdm(total=total, unit="unit", disable=quiet, desc="units") as bar:
        n = load_units(session=db.session, progress=bar.update)
    click.echo(f"{n} units loaded")


# -- users ------------------------------------------------------------------
@main.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(["clerk", "supervisor", "inspector", "admin"]))
@click.option("--unit", "unit_code", required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.option("--password", envvar="CASEWORK_NEW_PASSWORD", help="the password (prefer --password-stdin)")
@with_app
def users_create(app, username, role, unit_code, password_stdin, password) -> None:
    """Create a user (the first admin too)."""
    from casework.auth.service import create_user
    from casework.problem import DomainError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise click.UsageError("give the password with --password-stdin")
    try:
        user = create_user(session=db.session, username=username, password=password, role=role,
                           unit_code=unit_code, actor=None)
    except DomainError as exc:
        raise click.ClickException(f"{exc.detail}: {exc.errors}") from None
    click.echo(f"created user {user.username} ({user.role} at {user.unit_code})")


@users_group.command("disable")
@click.option("--username", required=True)
@with_app
def users_disable(app, username) -> None:
    """Disable an account: its tokens and API key stop working on their next request."""
    _set_active(username, False)


@users_group.command("enable")
@click.option("--username", required=True)
@with_app
def users_enable(app, username) -> None:
    """Re-enable a disabled account (it logs in again; old tokens stay revoked)."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    import sqlalchemy as sa

    from casework.auth.models import User
    from casework.auth.service import revoke_tokens

    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.lower()))
    if user is None:
        raise click.ClickException(f"no user {username}")
    user.is_active = active
    revoke_tokens(session=db.session, user=user)
    click.echo(f"{'enabled' if active else 'disabled'} user {user.username}")


# -- sla ---------------------------------------------------------------------
@main.group("sla")
def sla_group() -> None:
    """Deadlines and escalation."""


@sla_group.command("sweep")
@with_app
def sla_sweep(app) -> None:
    """Run one SLA sweep now and print what it did."""
    from casework.sla.policies import policies_for_app
    from casework.sla.service import run_sweep

    result = run_sweep(session=db.session, policies=policies_for_app(app))
    for key, value in result.as_dict().items():
        click.echo(f"{key}: {value}")


@main.group("outbox")
def outbox_group() -> None:
    """The transactional outbox."""


@outbox_group.command("relay")
@with_app
def outbox_relay(app) -> None:
    """Move every pending outbox row to RQ now."""
    from casework.extensions import redis_store
    from casework.outbox.service import backlog, relay_once

    total = 0
    while sent := relay_once(session=db.session, redis=redis_store.client):
        total += sent
    click.echo(f"relayed {total}; still pending {backlog(session=db.session)}")


# -- bulletins ----------------------------------------------------------------
@main.group("bulletins")
def bulletins_group() -> None:
    """Periodic bulletins (定期通报)."""


@bulletins_group.command("build")
@click.option("--unit", "unit_code", required=True)
@click.option("--period", "kind", required=True, type=click.Choice(["week", "month", "quarter", "year"]))
@click.option("--start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--xlsx", type=click.Path(dir_okay=False), help="also write the Excel file here")
@click.option("--pdf", type=click.Path(dir_okay=False), help="also write the PDF here")
@with_app
def bulletins_build(app, unit_code, kind, start, xlsx, pdf) -> None:
    """Build one bulletin now and print its id and headline figures."""
    from casework.bulletins.config import load_config
    from casework.bulletins.service import build, request_build
    from casework.db import utcnow
    from casework.problem import DomainError

    try:
        bulletin, _job = request_build(session=db.session, unit_code=unit_code, kind=kind, start=start.date(),
                                       actor=None, now=utcnow())
        build(session=db.session, bulletin_id=bulletin.id, now=utcnow(), cfg=load_config())
    except DomainError as exc:
        raise click.ClickException(f"{exc.detail}: {exc.errors}") from None
    figures = bulletin.figures
    click.echo(f"bulletin {bulletin.id} v{bulletin.version}: {figures['title']}")
    for key in ("received", "closed", "on_time_closure_rate", "overdue_now"):
        click.echo(f"  {key}: {figures['summary'][key]['value']}")
    if xlsx:
        from casework.bulletins.exports import bulletin_xlsx

        with open(xlsx, "wb") as fh:
            fh.write(bulletin_xlsx(figures))
        click.echo(f"  xlsx: {xlsx}")
    if pdf:
        from casework.bulletins.exports import bulletin_pdf

        with open(pdf, "wb") as fh:
            fh.write(bulletin_pdf(figures))
        click.echo(f"  pdf: {pdf}")


# -- demo --------------------------------------------------------------------
@main.command("demo")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--per-day", default=110, show_default=True, type=click.IntRange(0, 100_000),
              help="average new cases per working day")
@click.option("--seed", default=2020, show_default=True, type=int)
@click.option("--start", default="2026-08-03", show_default=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--out", "out_dir", default="instance/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def demo(days, per_day, seed, start, out_dir, as_json) -> None:
    """Simulate the 罗霄山片区 four-level system on a simulated clock, then write the last month's bulletins."""
    import json
    from pathlib import Path

    from tqdm import tqdm

    from casework.bootstrap import bootstrap
    from casework.demo.run import run_demo

    app = _app()
    with app.app_context():
        bootstrap(app)
        try:
            with tqdm(total=days, unit="day", desc="demo", disable=as_json) as bar:
                result = run_demo(app=app, session=db.session, days=days, per_day=per_day, seed=seed,
                                  start=start.date(), out_dir=Path(out_dir), progress=bar.update)
        except BaseException:
            db.session.rollback()
            raise
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"\nintakes {result['stats']['intakes']}, actions {result['stats']['actions']}, "
               f"refused {result['stats']['refused']}, sweeps {result['stats']['sweeps']}")
    click.echo("\ncases by kind/state:")
    for key, count in result["summary"]["by_state"].items():
        click.echo(f"  {key:<28}{count:>7}")
    click.echo("\non-time closure by county:")
    for code, row in result["summary"]["on_time_by_county"].items():
        rate = "—" if row["rate"] is None else f"{row['rate'] * 100:.1f}%"
        click.echo(f"  {code} {row['name']:<8}{row['closed']:>6} closed {rate:>8}")
    click.echo("\nsupervisions (督办) by level:")
    for level, count in result["summary"]["supervisions_by_level"].items():
        click.echo(f"  {level:<10}{count:>6}")
    click.echo("\nbulletins written:")
    for path in result["files"]:
        click.echo(f"  {path}")


# -- docs --------------------------------------------------------------------
@main.group("docs")
def docs_group() -> None:
    """Generated documentation."""


@docs_group.command("diagrams")
@click.option("--check", is_flag=True, help="fail if docs/state-machines.md differs from the code")
@click.option("--output", default="docs/state-machines.md", show_default=True)
def docs_diagrams(check: bool, output: str) -> None:
    """Write (or check) the state diagrams generated from the workflow tables."""
    from pathlib import Path

    from casework.workflow.diagrams import render_all

    text = render_all()
    path = Path(output)
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{output} is out of date: run `casework docs diagrams`")
        click.echo(f"{output} matches the workflow tables")
        return
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


# -- audit -------------------------------------------------------------------
@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_app
def audit_verify(app) -> None:
    """Verify every case's event hash chain; exits non-zero naming the first broken event."""
    from casework.cases.events import verify_all

    checked, broken = verify_all(session=db.session)
    if broken:
        click.echo(f"BROKEN: case {broken.case_id} event {broken.event_id} (seq {broken.seq}): {broken.problem}",
                   err=True)
        raise SystemExit(1)
    click.echo(f"{checked} case chains verified")


# -- processes --------------------------------------------------------------
@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
def serve(host: str, port: int, workers: int) -> None:
    """Run the API (gunicorn where available)."""
    from casework.server import run_server

    run_server(host=host, port=port, workers=workers)


@main.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.argument("queues", nargs=-1)
def worker(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker on the casework queues."""
    from workers.worker import run_worker

    run_worker(queues=list(queues) or None, burst=burst)


@main.command("scheduler")
def scheduler() -> None:
    """Run the RQ cron scheduler with the casework schedule."""
    from workers.schedule import run_scheduler

    run_scheduler()


@main.command("up")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def up(host: str, port: int, workers: int) -> None:
    """Migrate, load units, make a first admin, then run the API, a worker and the scheduler."""
    from casework.bootstrap import bootstrap
    from casework.extensions import redis_store

    app = _app()
    with app.app_context():
        admin_line = bootstrap(app)
        redis_url = redis_store.url_for_children()
    click.echo(admin_line)
    env = dict(os.environ, REDIS_URL=redis_url)
    exe = [sys.executable, "-m", "casework.cli"]
    children = [subprocess.Popen(exe + ["worker"], env=env), subprocess.Popen(exe + ["scheduler"], env=env)]
    click.echo(f"API:    http://{host}:{port}/api/v1/docs  (OpenAPI: /api/v1/openapi.json)")
    click.echo(f"health: http://{host}:{port}/healthz  ready: http://{host}:{port}/readyz")
    server = subprocess.Popen(exe + ["serve", "--host", host, "--port", str(port), "--workers", str(workers)], env=env)
    children.append(server)

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    main()
