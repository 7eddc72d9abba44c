"""The service's application: the API over one ``Runtime``, with its guards.

``create_app(runtime)`` is the only way to build it (``labelwf serve`` and the tests use it):
every request gets an id (``X-Request-Id``, made here, never taken from the client), security
headers, a bound on its body, and errors as problem+json.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import LabelwfError
from ..runtime import Runtime
from . import (
    api,
    batches_api,
    bodies,
    console,
    console_confirm,
    console_errors,
    console_letters_zip,
    console_ops,
    console_plan_runs,
    console_plans,
    console_portfolio,
    console_search,
    console_signatures,
    console_versions,
    entities_api,
    fire_api,
    letters_api,
    operations_api,
    search_api,
    signatures_api,
    signin,
    versions_api,
    workflows_api,
)
from .auth import Caller, Refused, Tokens, caller, require
from .checkpointing import checkpoints_lifespan
from .limits import RateLimits
from .metrics import Metrics
from .offload import CONSOLE_AT_ONCE, CONSOLE_QUEUED, PASSWORDS_AT_ONCE, PASSWORDS_QUEUED, Gate
from .oidc import Provider
from .problems import guarded_statuses, problem
from .throttle import Throttle, networks

_log = logging.getLogger("labelwf.service")
MAX_BODY = 64 * 1024  # a transition's request is a few hundred bytes
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def app_from_environment() -> FastAPI:
    """The application over a runtime wired from the configuration and the environment: what each
    process of ``labelwf serve --workers N`` builds for itself."""
    return create_app(Runtime.from_config())


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
    app.state.tokens = Tokens(runtime.db, runtime.engine.clock)
    app.state.oidc = Provider(runtime.settings, runtime.audit_key) if runtime.settings.oidc_enabled else None
    per_minute = {"fires": runtime.settings.fires_per_minute, "PDF renderings": runtime.settings.pdfs_per_minute}
    app.state.limits = RateLimits(runtime.engine.clock, per_minute)
    settings = runtime.settings
    app.state.throttle = Throttle(
        runtime.engine.clock, free=settings.login_failures_free, delay_max_s=settings.login_delay_max_seconds
    )
    app.state.trusted_proxies = networks(settings.trusted_proxies)
    app.state.passwords = Gate("password checks", PASSWORDS_AT_ONCE, PASSWORDS_QUEUED)
    app.state.console = Gate("console forms", CONSOLE_AT_ONCE, CONSOLE_QUEUED)
    app.include_router(api.router)
    app.include_router(fire_api.router)
    app.include_router(letters_api.router)
    app.include_router(operations_api.router)
    app.include_router(signatures_api.router)
    app.include_router(batches_api.router)
    app.include_router(entities_api.router)
    app.include_router(versions_api.router)
    app.include_router(search_api.router)
    app.include_router(workflows_api.router)
    app.include_router(signin.router)
    app.include_router(console.router)
    app.include_router(console_ops.router)
    app.include_router(console_plans.router)
    app.include_router(console_plan_runs.router)
    app.include_router(console_signatures.router)
    app.include_router(console_confirm.router)
    app.include_router(console_portfolio.router)
    app.include_router(console_search.router)
    app.include_router(console_versions.router)
    app.include_router(console_letters_zip.router)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    document = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with what the guards answer before a route runs (``guarded_statuses``)."""
        if app.openapi_schema is None:
            guarded_statuses(document())
        return app.openapi_schema or document()

    app.openapi = openapi  # type: ignore[method-assign]
    # The console's pages answer every error as a French page of its layout; the API, as a problem.
    app.add_exception_handler(LabelwfError, console_errors.html_or(api.labelwf_errors))
    app.add_exception_handler(RequestValidationError, console_errors.html_or(_invalid))
    app.add_exception_handler(StarletteHTTPException, console_errors.html_or(_http))
    app.add_middleware(_Guard, body_timeout_s=runtime.settings.body_timeout_seconds)
    app.state.checkpointer = runtime.checkpointer
    app.router.lifespan_context = checkpoints_lifespan(runtime.checkpointer)  # signed checkpoints while serving

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:  # on the loop: it answers even when every worker thread waits
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
        # The counts span the whole portfolio (instances per state, fires, letters): the staff who act
        # on it read them, not a pole's stakeholders nor read-only viewers.
        require(who, "operator")
        return Response(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


class _Guard:
    """Every HTTP request's guard, as plain ASGI (cheaper than a ``BaseHTTPMiddleware``): its id, the
    bound on its body (in bytes, and in time: ``body_timeout_s``), the security headers, its latency
    in the metrics, and a 500 problem (with the id the log names) for an error nobody foresaw."""

    def __init__(self, app: ASGIApp, body_timeout_s: float = 20.0) -> None:
        self.app, self.body_timeout_s = app, body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500
        sent = False

        async def send_guarded(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                sent, status = True, message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        refusal = _refusal(scope)
        try:
            if refusal is None and bodies.has_body(scope):
                receive, refusal = await bodies.checked(
                    scope, receive, timeout_s=self.body_timeout_s, max_bytes=MAX_BODY
                )
            if refusal is not None:
                await refusal(scope, receive, send_guarded)
            else:
                await self.app(scope, receive, send_guarded)
        except Exception:
            _log.exception("unexpected error in request %s %s (%s)", scope["method"], scope["path"], rid)
            if not sent:
                detail = f"an unexpected error; it is logged under request id {rid}"
                answer: Response = problem(500, "internal-error", "Internal error", detail, {"request_id": rid})
                if scope["path"].startswith("/console"):
                    answer = console_errors.unexpected(rid)
                await answer(scope, receive, send_guarded)
        route = getattr(scope.get("route"), "path", "(unmatched)")
        scope["app"].state.metrics.requests.labels(scope["method"], route, str(status)).observe(
            time.perf_counter() - started
        )


def _refusal(scope: Scope) -> Response | None:
    """The answer to a request refused before it is read: a body without a length, or too large."""
    if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    headers = Headers(scope=scope)
    length = headers.get("content-length")
    if length is None and headers.get("transfer-encoding"):
        return problem(411, "length-required", "Length required", "send Content-Length")
    if length is not None and not (length.isascii() and length.isdigit()):
        return problem(400, "bad-request", "Bad request", f"Content-Length {length!r} is not a number")
    if length is not None and int(length) > MAX_BODY:
        detail = f"a request body is at most {MAX_BODY:,} bytes; this one says {length}"
        return problem(413, "payload-too-large", "Payload too large", detail)
    return None


def _short(value: Any) -> Any:
    """A refused value as a problem shows it: scalars, cut to 200 characters; nothing for the rest."""
    if isinstance(value, str):
        return value[:200]
    return value if isinstance(value, int | float | bool) or value is None else None


def _field_error(e: Mapping[str, Any]) -> dict[str, Any]:
    """One refused field of a request as a problem lists it; the body itself is the field ``body``."""
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid":  # its location is the body and the character where it breaks
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (e.get("ctx") or {}).get("error", e.get("msg"))
        return {"field": "body", "value": None, "problem": f"not valid JSON{where}: {reason}"}
    field = ".".join(str(p) for p in loc if p not in ("body",)) or "body"
    return {"field": field, "value": _short(e.get("input")), "problem": e.get("msg")}


def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    bodied = any(tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors())
    api = request.url.path.startswith("/api/")  # the console's forms are form-encoded
    if (
        api
        and bodied
        and request.method in ("POST", "PUT", "PATCH")
        and content_type
        and not bodies.is_json(content_type)
    ):
        detail = f"the body is {content_type[:100]!r}: send Content-Type: application/json"
        return problem(415, "unsupported-media-type", "Unsupported media type", detail)
    errors = [_field_error(e) for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:5])
    return problem(422, "invalid-request", "Invalid request", detail, {"errors": errors[:50]})


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = (
        exc.kind
        if isinstance(exc, Refused)
        else {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    )
    headers = exc.headers
    if exc.status_code == 405:  # every method of the path, not only those of the first route that matched it
        methods = {  # probed: the routes of included routers are not listed as plain routes
            method
            for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in request.app.routes)
        }
        headers = {**(headers or {}), "Allow": ", ".join(sorted(methods))}
    return problem(exc.status_code, kind, kind.replace("-", " ").capitalize(), str(exc.detail), headers=headers)
