"""Runs the WSGI app under gunicorn, or Werkzeug where gunicorn cannot run."""
from __future__ import annotations


def run_server(*, host: str, port: int, workers: int) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # gunicorn does not run on Windows
        from casework.app import create_app

        create_app().run(host=host, port=port, threaded=True)
        return

    class CaseworkServer(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 60)

        def load(self):
            from casework.app import create_app

            return create_app()

    CaseworkServer().run()
