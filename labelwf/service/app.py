"""The service's application: the API over one ``Runtime``, with its guards.

``create_app(runtime)`` is the only way to build it (``labelwf serve`` and the tests use it):
every request gets an id (``X-Request-Id``, made here, never taken from the client), security
headers, a bound on its body, and errors as problem+json.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import LabelwfError
from ..runtime import Runtime
from . import api, console, letters_api
from .auth import Caller, Refused, caller, require
from .metrics import Metrics
from .problems import problem

_log = logging.getLogger("labelwf.service")
MAX_BODY = 64 * 1024  # a transition's request is a few hundred bytes
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(runtime: Runtime) -> FastAPI:
    """The API (``/api/v1``, its OpenAPI document at ``/api/v1/openapi.json``), ``/healthz``, ``/readyz``."""
    app = FastAPI(
        title="labelwf",
        version="1",
        description="Label programmes: instances, transitions, deadlines, letters and the audit trail.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # an interactive page would load scripts from elsewhere; the document is enough
        redoc_url=None,
        redirect_slashes=False,  # no redirect built from the client's Host header
    )
    app.state.runtime = runtime
    runtime.db.keep_writers = False  # many request threads: pooled writes, one at a time (store.Database)
    app.state.metrics = Metrics(runtime.db, runtime.engine.clock)
    app.include_router(api.router)
    app.include_router(letters_api.router)
    app.include_router(console.router)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_exception_handler(LabelwfError, api.labelwf_errors)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.middleware("http")(_guard)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        try:
            runtime.db.check_schema()
        except LabelwfError as exc:
            _log.warning("not ready: %s", exc)
            return problem(
                503, "not-ready", "Not ready", "the database cannot be used, or is not at this version's schema"
            )
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", include_in_schema=False)
    def metrics(who: Caller = Depends(caller)) -> Response:  # noqa: B008 - FastAPI's dependency idiom
        require(who, "viewer")
        return Response(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    request.state.request_id = secrets.token_hex(8)
    started = time.perf_counter()
    length = request.headers.get("content-length")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if length is None and request.headers.get("transfer-encoding"):
            response: Response = problem(411, "length-required", "Length required", "send Content-Length")
        elif length is not None and not (length.isascii() and length.isdigit()):
            response = problem(400, "bad-request", "Bad request", f"Content-Length {length!r} is not a number")
        elif length is not None and int(length) > MAX_BODY:
            detail = f"a request body is at most {MAX_BODY:,} bytes; this one says {length}"
            response = problem(413, "payload-too-large", "Payload too large", detail)
        else:
            response = await _answer(request, call_next)
    else:
        response = await _answer(request, call_next)
    response.headers["X-Request-Id"] = request.state.request_id
    route = getattr(request.scope.get("route"), "path", "(unmatched)")
    request.app.state.metrics.requests.labels(request.method, route, str(response.status_code)).observe(
        time.perf_counter() - started
    )
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _answer(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """The route's answer; an error nobody foresaw is logged with its request id and answered 500."""
    try:
        return await call_next(request)
    except Exception:
        _log.exception(
            "unexpected error in request %s %s (%s)", request.method, request.url.path, request.state.request_id
        )
        detail = f"an unexpected error; it is logged under request id {request.state.request_id}"
        return problem(500, "internal-error", "Internal error", detail, {"request_id": request.state.request_id})


def _short(value: Any) -> Any:
    """A refused value as a problem shows it: scalars, cut to 200 characters; nothing for the rest."""
    if isinstance(value, str):
        return value[:200]
    return value if isinstance(value, int | float | bool) or value is None else None


def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)),
            "value": _short(e.get("input")),
            "problem": e.get("msg"),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:5])
    return problem(422, "invalid-request", "Invalid request", detail, {"errors": errors[:50]})


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = (
        exc.kind
        if isinstance(exc, Refused)
        else {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    )
    return problem(exc.status_code, kind, kind.replace("-", " ").capitalize(), str(exc.detail), headers=exc.headers)
