"""The application factory."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from config import BaseConfig, config_for


class IdConverter(IntegerConverter):
    """``<int:...>`` limited to 1 .. 2**31-1, what an id column can hold."""

    def __init__(self, map, fixed_digits=0, min=1, max=2**31 - 1, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: BaseConfig | str | None = None) -> Flask:
    """Build the Flask app for ``config`` (a settings object, an environment name, or $CASEWORK_ENV)."""
    settings = config if isinstance(config, BaseConfig) else config_for(config)
    app = Flask(__name__, instance_path=settings.INSTANCE_DIR, instance_relative_config=False)
    app.config.from_object(settings)
    for key in ("SECRET_KEY", "PII_KEYS", "BLIND_INDEX_KEY", "DATABASE_URL", "REDIS_URL", "INSTANCE_DIR",
                "ROUTING_RULES_FILE", "SLA_POLICIES_FILE", "EVIDENCE_DIR"):
        app.config[key] = getattr(settings, key)
    from casework.common.fields import json_default

    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.json.default = json_default
    # Before any route: ids in URLs are 32-bit columns on PostgreSQL. A larger one matched <int:> and reached the
    # database as a 500 (found by schemathesis); now the router answers 404, and OpenAPI documents the range.
    app.url_map.converters["int"] = IdConverter
    register_database(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_proxy(app)
    return app


def register_proxy(app: Flask) -> None:
    """Behind N reverse proxies, take the client address from the last N X-Forwarded-For hops.

    Login throttling counts failures per client address; behind a proxy every request would come from the
    proxy's address, one shared limit for the whole country. Off (0) unless configured: trusting the header
    without a proxy that sets it would let any client choose its address.
    """
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


def database_url(app: Flask) -> str:
    url = app.config["DATABASE_URL"]
    if url:
        return url
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.config['INSTANCE_DIR']) / 'casework.db'}"


def register_database(app: Flask) -> None:
    from casework.extensions import db

    app.config["SQLALCHEMY_URL"] = database_url(app)
    db.configure(app.config["SQLALCHEMY_URL"])

    # The one place a request's work is committed: after the view answered
    # without error. Any error answer rolls the whole request back, so a
    # rejected request never leaves a half-written row.
    @app.after_request
    def _commit_or_rollback(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_appcontext
    def _remove_session(exc):
        db.session.remove()


def register_extensions(app: Flask) -> None:
    from casework.extensions import api, redis_store
    from casework.security import pii_box

    redis_store.init_app(app)
    api.init_app(app, spec_kwargs={"info": {"description": "Petition and complaint case routing (民政信访与诉求办理)"}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    pii_box.init_app(app)
    register_policies(app)


def register_policies(app: Flask) -> None:
    """Load and validate the editable policy files now, so a bad file stops start-up with a clear message."""
    from casework.cases.actions import register_plugins
    from casework.cases.routing_adapter import rules_for_app
    from casework.sla.policies import policies_for_app

    from casework.bulletins.config import load_config

    register_plugins()
    rules_for_app(app)
    policies_for_app(app)
    load_config()


def register_blueprints(app: Flask) -> None:
    from casework.auth.api import blp as auth_blp
    from casework.cases.api import blp as cases_blp
    from casework.notifications.api import blp as notifications_blp
    from casework.bulletins.api import blp as bulletins_blp
    from casework.links.api import blp as links_blp
    from casework.rectification.api import blp as rectifications_blp
    from casework.sla.api import blp as supervisions_blp
    from casework.sla.api import calendar_blp, case_supervisions_blp
    from casework.auth.api import users_blp
    from casework.extensions import api
    from casework.health import bp as health_bp
    from casework.units.api import blp as units_blp

    app.register_blueprint(health_bp)
    from casework.open311.api import bp as open311_bp

    app.register_blueprint(open311_bp)
    for blp in (auth_blp, users_blp, units_blp, cases_blp, case_supervisions_blp, links_blp, supervisions_blp,
                calendar_blp, notifications_blp, rectifications_blp, bulletins_blp):
        api.register_blueprint(blp)


def register_request_hooks(app: Flask) -> None:
    from casework.request_log import init_request_logging
    from casework.security_headers import init_security_headers

    init_request_logging(app)
    init_security_headers(app)


logging.getLogger("casework").setLevel(logging.INFO)
