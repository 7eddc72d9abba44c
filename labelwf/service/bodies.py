"""A request body read whole, within a time bound, before the application sees it; an API request's
JSON body refused if an object repeats a key, if it is not UTF-8, if it nests too deeply to be
read or if it holds a number too long to be read.

``{"trigger": "classify", "trigger": "label"}`` is valid JSON, and Python's parser keeps the last
value: a proxy, a log or a reviewer reading the first would see another request than the one
fired. The guard reads an API request's JSON body (already bounded in size), and refuses (422)
one whose objects repeat a key, naming it; otherwise the body is handed on unchanged.

A number is bounded before it is converted (``MAX_NUMBER`` characters): Python refuses to convert
an integer of more than 4,300 digits, and that refusal, raised inside the parser, was an
unexpected error (500) for any caller, token or not. Only UTF-8 is read: Python's parser would
also take UTF-16 and UTF-32, which the API does not promise.

Every body, JSON or not, is read within ``body_timeout_seconds``: a client that announces more
bytes than it sends would otherwise hold its connection, and a server's worker, for ever. Past
the bound it gets 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from .problems import problem

_WRITES = ("POST", "PUT", "PATCH")
MAX_NUMBER = 100  # characters of one JSON number: far more than any field needs, far below Python's 4,300 digits
_UTF8 = ("utf-8", "utf-8-sig")  # a UTF-8 byte order mark is tolerated, as RFC 8259 allows a parser to


def reads_json(scope: Scope) -> bool:
    """Whether ``scope`` is an API request with a JSON body."""
    if scope["method"] not in _WRITES or not scope["path"].startswith("/api/"):
        return False
    return is_json(Headers(scope=scope).get("content-type", ""))


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header names JSON (``application/json`` or a ``+json`` type)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class _Unreadable(ValueError):
    """Raised inside the parser for what it must not convert: a number too long, a constant JSON lacks."""

    def __init__(self, token: str, problem: str) -> None:
        super().__init__(problem)
        self.token, self.problem = token, problem


def _bounded(convert: Any) -> Any:
    def parse(token: str) -> Any:
        if len(token) > MAX_NUMBER:
            limit = f"a number has at most {MAX_NUMBER} characters"
            raise _Unreadable(token, f"a number of {len(token):,} characters ({token[:20]}…): {limit}")
        value = convert(token)
        if isinstance(value, float) and not math.isfinite(value):  # 1e999 reads as infinity
            raise _Unreadable(token, f"the number {token} is too large to be read: at most about 1e308")
        return value

    return parse


def _not_json(constant: str) -> Any:
    raise _Unreadable(constant, f"{constant} is not a JSON value: send a number, or a text in quotes")


def parse(text: str, **hooks: Any) -> Any:
    """``text`` as JSON, bounded: a number longer than ``MAX_NUMBER`` characters, or too large for a
    float, and ``NaN``/``Infinity`` (not JSON) are refused (``ValueError``) before Python converts them."""
    return json.loads(text, parse_int=_bounded(int), parse_float=_bounded(float), parse_constant=_not_json, **hooks)


def encoding_problem(content_type: str, body: bytes) -> str | None:
    """Why ``body`` is not read as UTF-8 JSON (a charset named other than UTF-8, bytes in UTF-16 or
    UTF-32, or not UTF-8), or None."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return f"the body is declared {charset[:40]!r}: only UTF-8 JSON is accepted (charset=utf-8)"
    encoding = json.detect_encoding(body)
    if encoding not in _UTF8:
        return f"the body reads as {encoding.upper()}: only UTF-8 JSON is accepted"
    try:
        body.decode(encoding)
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start} cannot be read): send JSON in UTF-8"
    return None


def body_problem(body: bytes, content_type: str = "application/json") -> tuple[str, str | None] | None:
    """Why ``body`` is refused before the API reads it (what, and the repeated key if that is it);
    None if it is not. A body that is no JSON for another reason is left to the API, which says
    where it breaks."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if not found:
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    found.append(key)
                    break
                seen.add(key)
        return dict(items)

    unreadable = encoding_problem(content_type, body)
    if unreadable is not None:
        return unreadable, None
    text = body.decode(json.detect_encoding(body))
    try:
        parse(text, object_pairs_hook=pairs)
    except _Unreadable as exc:
        return f"{exc.problem} (at character {max(text.find(exc.token), 0)})", None
    except RecursionError:
        return "the body nests its arrays or objects too deeply to be read", None
    except ValueError:
        return None
    if found:
        return f"the key {found[0][:100]!r} is given twice in one object of the body: give each key once", found[0]
    return None


def has_body(scope: Scope) -> bool:
    """Whether ``scope``'s request may carry a body to read: a method that sends one, or a length."""
    if scope["method"] in (*_WRITES, "DELETE"):
        return True
    length = Headers(scope=scope).get("content-length", "")
    return length not in ("", "0")


async def checked(
    scope: Scope, receive: Receive, *, timeout_s: float, max_bytes: int
) -> tuple[Receive, Response | None]:
    """Read the body from ``receive`` within ``timeout_s`` seconds and ``max_bytes``; return what hands
    it on, and the refusal if it came too slowly (408, the connection closed), was longer than
    announced (413) or, for an API request's JSON body, is refused by ``body_problem`` (422)."""
    chunks: list[bytes] = []
    last: Message | None = None
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away: hand that on as it came
                    last = message
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    detail = f"a request body is at most {max_bytes:,} bytes; this one sent more"
                    return receive, problem(413, "payload-too-large", "Payload too large", detail, headers=_CLOSE)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        detail = f"the body did not arrive within {timeout_s:g} seconds: send the bytes Content-Length announces"
        return receive, problem(408, "request-timeout", "Request timeout", detail, headers=_CLOSE)
    body = b"".join(chunks)
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if not handed:
            handed = True
            return last if last is not None else {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    content_type = Headers(scope=scope).get("content-type", "")
    refused = body_problem(body, content_type) if last is None and reads_json(scope) else None
    if refused is None:
        return replay, None
    detail, key = refused
    error = {"field": "body", "value": None if key is None else key[:200], "problem": detail}
    if key is not None:
        error["problem"] = "key given twice"
    return replay, problem(422, "invalid-request", "Invalid request", detail, {"errors": [error]})


_CLOSE = {"Connection": "close"}  # what is left of the body on the connection cannot be told from a next request
