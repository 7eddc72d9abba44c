"""A console form refused (an expired form, a value refused, a page changed meanwhile, too many
decisions in a minute) follows Post/Redirect/Get as one handled: ``303`` to the form's page, which
says why once (``console_flash``) and refills what was typed (``console_kept``), so a reload sends
nothing again. Nothing was written, and the next post is the person's own.

Only an htmx request keeps the status-coded answer swapped in place (an XHR is not replayed by a
reload). A post no page offers — a role that may not act, a plan that does not exist — is answered
with its status as before: there is no form to go back to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from . import console_flash, console_kept


def in_place(request: Request) -> bool:
    """Whether ``request`` is htmx's, answered in place."""
    return request.headers.get("hx-request") == "true"


def refused(
    request: Request,
    csrf: str,
    url: str,
    message: str,
    render: Callable[[], Response],
    *,
    form: str = "",
    typed: Mapping[str, Any] | None = None,
    problems: Sequence[str] = (),
) -> Response:
    """``render()`` for htmx; else ``303`` to ``url`` saying ``message`` once, ``typed`` kept for ``form``."""
    if in_place(request):
        return render()
    if typed or problems:
        console_kept.keep(request, csrf, form, typed, problems)
    return console_flash.redirect(url, csrf, message, "error")
