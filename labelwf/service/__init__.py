"""``labelwf serve``: the REST API (and, next, the operators' console) over the same runtime as the CLI."""

from .app import create_app

__all__ = ["create_app"]
