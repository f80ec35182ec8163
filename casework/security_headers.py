"""Security headers on every answer, a strict Content-Security-Policy, and CORS (off unless configured).

* API answers (JSON, problem+json, files) get ``default-src 'none'; frame-ancestors 'none'``: nothing they
  contain may load or run anything, and no page may frame them.
* The Swagger UI page (``/api/v1/docs``) gets a policy naming exactly what it loads: the two scripts and the
  stylesheet from ``OPENAPI_SWAGGER_UI_URL``, its one inline start-up script by hash, ``data:`` images (the
  stylesheet's icons), and requests to this origin (the OpenAPI document and "try it out").
* CORS: no ``Access-Control-*`` header is sent unless ``CASEWORK_CORS_ORIGINS`` (comma-separated origins, or
  ``*``) names the caller's ``Origin``. Tokens travel in the Authorization header, never in cookies, so no
  credentials mode is offered.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re

from flask import Flask, Response, current_app, request

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_ASSETS = {"script-src": ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"),
               "style-src": ("swagger-ui.css",)}
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-ID"
CORS_EXPOSE_HEADERS = "X-Request-ID, Location"
CORS_MAX_AGE = "600"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def cors_origins(spec: str) -> tuple[str, ...]:
    """``"https://a.example, https://b.example"`` -> the origins, without trailing slashes; empty: CORS off."""
    return tuple(o.strip().rstrip("/") for o in spec.split(",") if o.strip())


def docs_csp(html: str, ui_url: str) -> str:
    """The policy for the Swagger UI page ``html`` whose assets live under ``ui_url``."""
    base = ui_url if ui_url.endswith("/") else ui_url + "/"
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
              for s in _INLINE_SCRIPT.findall(html)]
    scripts = " ".join([*(base + name for name in DOCS_ASSETS["script-src"]), *hashes])
    styles = " ".join(base + name for name in DOCS_ASSETS["style-src"])
    # Checked in headless Chromium against swagger-ui-dist 5.35 with every operation and model expanded: no
    # violation report, so neither 'unsafe-inline' nor 'unsafe-eval' is needed (React sets styles through the DOM).
    return (f"default-src 'none'; script-src {scripts}; style-src {styles}; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def init_security_headers(app: Flask) -> None:
    app.config.setdefault("CORS_ORIGINS", cors_origins(os.environ.get("CASEWORK_CORS_ORIGINS", "")))
    docs_path = (app.config.get("OPENAPI_URL_PREFIX") or "").rstrip("/") + (app.config.get("OPENAPI_SWAGGER_UI_PATH")
                                                                            or "/docs")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path == docs_path and response.status_code == 200 and response.mimetype == "text/html":
            headers["Content-Security-Policy"] = docs_csp(response.get_data(as_text=True),
                                                          current_app.config["OPENAPI_SWAGGER_UI_URL"])
        else:
            # A view may set a stricter one of its own (evidence downloads add "sandbox").
            headers.setdefault("Content-Security-Policy", API_CSP)
        if request.path.startswith("/api/"):
            # Answers carry personal data: no shared or browser cache may keep them.
            headers.setdefault("Cache-Control", "no-store")
        _cors(response)
        return response


def _cors(response: Response) -> None:
    allowed = current_app.config.get("CORS_ORIGINS") or ()
    if not allowed:
        return
    response.vary.add("Origin")
    origin = request.headers.get("Origin", "")
    if not origin or ("*" not in allowed and origin.rstrip("/") not in allowed):
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        methods = response.headers.get("Allow") or "GET, POST, PUT"
        headers["Access-Control-Allow-Methods"] = ", ".join(m.strip() for m in methods.split(",")
                                                            if m.strip() not in ("HEAD", "OPTIONS"))
        headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = CORS_MAX_AGE
