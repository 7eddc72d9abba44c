"""``labelwf serve``: the REST API and the operators' console over the same runtime as the CLI.

A shell at the top of the layers: may import ``runtime``, ``accounts`` and everything below them,
never ``cli``.
"""

from .app import create_app

__all__ = ["create_app"]
