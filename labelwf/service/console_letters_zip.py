"""All of a stakeholder's letters in one ZIP: ``/console/instances/{entity}/letters.zip``.

Each letter is its PDF when one can be rendered here, else its frozen HTML, named in French with
its date ("2008-06-30 Enfant - maintien du label.pdf"). Only the letters the caller may read are
in it (a stakeholder's: those to the roles that stand for its pole); another pole's ZIP, or one
that does not exist, is answered as a page that does not exist (404), never as refused.
"""

from __future__ import annotations

import io
import re
import zipfile

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..engine import queries
from ..engine.delivery import pdf_unavailable, render_pdf
from ..errors import NotFound
from ..store import signatures
from .api import runtime_of
from .console_reading import letters_for
from .letters_api import shown_letter
from .pages import session, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
_UNSAFE = re.compile(r"[^\w\s'’«»().,-]+")


def _file_name(day: str, subject: str, suffix: str, taken: set[str]) -> str:
    base = f"{day} {_UNSAFE.sub(' ', subject)}"
    base = re.sub(r"\s+", " ", base).strip()[:120]
    name, n = f"{base}.{suffix}", 1
    while name in taken:
        n += 1
        name = f"{base} ({n}).{suffix}"
    taken.add(name)
    return name


@router.get("/instances/{entity}/letters.zip")
def letters_zip(request: Request, entity: str) -> Response:
    found = session(request)
    if found is None:
        return to_login()
    who = found[0]
    if not who.sees(entity):
        raise NotFound("instance", entity[:100], "")
    runtime = runtime_of(request)
    view = queries.describe(runtime.engine, entity)
    zone = runtime.settings.zone
    pdf = pdf_unavailable() is None
    buffer, taken = io.BytesIO(), set[str]()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for listed in letters_for(who, view.workflow, view.letters):
            letter = shown_letter(request, who, listed.id)
            day = letter.occurred_at.astimezone(zone).strftime("%Y-%m-%d")
            html = letter.html or ""
            signed = None
            if letter.pdf_sha256 is not None:  # signed: the very bytes its signatory signed
                with runtime.db.read() as conn:
                    signed = signatures.signed_pdf(conn, letter.id)
            if signed is not None:
                archive.writestr(_file_name(day, letter.subject, "pdf", taken), signed)
            elif pdf:
                archive.writestr(_file_name(day, letter.subject, "pdf", taken), render_pdf(html))
            else:
                archive.writestr(_file_name(day, letter.subject, "html", taken), html.encode("utf-8"))
    name = f"courriers-{view.instance.entity.id}.zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
