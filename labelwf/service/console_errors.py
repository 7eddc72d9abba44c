"""The console's errors in French: an engine refusal said as a sentence (the value, what is right),
and every error under ``/console`` answered as an HTML page in the console's layout.

The API keeps its problem+json (``problems``); a page of the console never shows raw JSON nor a
blank body, whatever failed: a missing page (404), a role (403), a stale page (409), a refused value
(422), a request nobody foresaw (500, with the id the log names).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from ..errors import LabelwfError
from ..i18n import Labels, render
from .problems import public_message

_TITLES = {
    400: "Demande illisible",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible ici",
    409: "Dossier modifié entre-temps",
    413: "Envoi trop volumineux",
    422: "Valeur refusée",
    429: "Trop de demandes",
    500: "Erreur inattendue",
    503: "Service momentanément indisponible",
}


def in_french(error: LabelwfError, labels: Labels | None = None) -> str:
    """The sentence a person reads for ``error``: what was refused, the value, what would be right, said
    through the message catalogue (``labelwf.i18n``), its states and triggers by their labels."""
    text = render(public_message(error), "fr", labels if labels is not None else error.labels)
    return text[:1].upper() + text[1:]


def is_console(request: Request) -> bool:
    """Whether ``request`` is a page of the console (its static files answer as files)."""
    path = request.url.path
    return path.startswith("/console") and not path.startswith("/console/static/")


def error_page(request: Request, status: int, message: str) -> Response:
    """``message`` as a French page of the console's layout, with the signed-in user's navigation."""
    from .pages import page, session  # the pages module imports this one's flash neighbour: imported late

    try:
        found = session(request)
    except LabelwfError:  # the database itself failed: the page still says so, without the menu
        found = None
    who, csrf = found if found is not None else (None, "")
    title = _TITLES.get(status, "Erreur")
    return page(request, "error.html", status, who=who, csrf=csrf, title=title, failure=message)


def plain_page(status: int, title: str, message: str) -> HTMLResponse:
    """An error page that needs nothing but itself (when the runtime cannot render one)."""
    title, message = html.escape(title), html.escape(message)
    body = (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title} — labelwf</title>'
        f'</head><body><main><h1>{title}</h1><p role="alert">{message}</p>'
        '<p><a href="/console">Retour à l\'accueil</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status)


def http_message(exc: HTTPException) -> str:
    """What the console says of an HTTP error raised by the framework or a route."""
    return {
        404: "Cette page n'existe pas, ou elle n'est pas visible avec votre compte.",
        405: "Cette adresse ne prend pas cette méthode : passez par les formulaires de la console.",
        403: "Votre compte ne permet pas cette action.",
    }.get(exc.status_code, f"La demande n'a pas abouti (erreur {exc.status_code}).")


def labelwf_error_status(error: LabelwfError) -> int:
    """The HTTP status of ``error``, as the API would answer it."""
    from .problems import STATUS

    status = next((code for kind, code in STATUS if isinstance(error, kind)), 500)
    return 409 if status == 412 else status  # a stale page: no If-Match in a form


Handler = Callable[[Request, Exception], Response]


def html_or(handler: Handler) -> Handler:
    """``handler`` for the API; for a page of the console, the same error as a French page."""

    def answer(request: Request, exc: Exception) -> Response:
        if not is_console(request):
            return handler(request, exc)
        if isinstance(exc, LabelwfError):
            return error_page(request, labelwf_error_status(exc), in_french(exc))
        if isinstance(exc, HTTPException):
            return error_page(request, exc.status_code, http_message(exc))
        return error_page(request, 422, "Les valeurs envoyées ne sont pas lisibles : repartez du formulaire.")

    return answer


def unexpected(request_id: str) -> HTMLResponse:
    """The console's page for an error nobody foresaw (it needs neither the database nor a template)."""
    message = f"Une erreur inattendue s'est produite ; elle est consignée sous le numéro {request_id}."
    return plain_page(500, _TITLES[500], message)
