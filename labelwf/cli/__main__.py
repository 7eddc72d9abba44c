"""``python -m labelwf.cli``: the ``labelwf`` command."""

from . import main

main()
