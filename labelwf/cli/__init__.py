"""The ``labelwf`` command: a thin shell over the library, one module per group of commands.

Exit codes: 0 done; 1 unexpected failure; 2 bad input (arguments, files, data, configuration, a
database that cannot be used: unreachable, read-only); 3 not found; 4 refused (a transition by the
workflow, or an action that no longer applies); 5 concurrent conflict (someone else changed the
instance first); 6 audit verification failed; 7 database not initialised or at another schema
revision (run ``labelwf init``); 8 database busy (another process held the write lock past the busy timeout: try again).

The top of the layers: may import everything in labelwf (``serve`` starts ``service``, imported
only when it runs, so that other commands do not load the web stack).
"""

from . import (  # noqa: F401  (each registers its commands)
    admin,
    audit,
    directory,
    entities,
    entity_change,
    instances,
    letters,
    listing,
    migrate,
    plans,
    running,
    service,
    signatures,
    signing,
    users_contact,
)
from .base import (
    EXIT_AUDIT_BROKEN,
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_CONFLICT,
    EXIT_FAILURE,
    EXIT_NOT_FOUND,
    EXIT_NOT_INITIALISED,
    EXIT_REFUSED,
    main,
)

__all__ = [
    "EXIT_AUDIT_BROKEN",
    "EXIT_BAD_INPUT",
    "EXIT_BUSY",
    "EXIT_CONFLICT",
    "EXIT_FAILURE",
    "EXIT_NOT_FOUND",
    "EXIT_NOT_INITIALISED",
    "EXIT_REFUSED",
    "main",
]
