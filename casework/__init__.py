"""casework: petition and complaint case routing for civil-affairs administration."""
from casework.app import create_app

__all__ = ["create_app"]
