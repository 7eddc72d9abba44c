"""A JSON request body read whole before the API sees it, and refused if an object repeats a key,
if it is not UTF-8 or if it nests too deeply to be read.

``{"trigger": "classify", "trigger": "label"}`` is valid JSON, and Python's parser keeps the last
value: a proxy, a log or a reviewer reading the first would see another request than the one
fired. The guard reads an API request's JSON body (already bounded in size), and refuses (422)
one whose objects repeat a key, naming it; otherwise the body is handed on unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from .problems import problem

_WRITES = ("POST", "PUT", "PATCH")


def reads_json(scope: Scope) -> bool:
    """Whether ``scope`` is an API request with a JSON body."""
    if scope["method"] not in _WRITES or not scope["path"].startswith("/api/"):
        return False
    return is_json(Headers(scope=scope).get("content-type", ""))


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header names JSON (``application/json`` or a ``+json`` type)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def body_problem(body: bytes) -> tuple[str, str | None] | None:
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

    try:
        json.loads(body, object_pairs_hook=pairs)
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start} cannot be read): send JSON in UTF-8", None
    except RecursionError:
        return "the body nests its arrays or objects too deeply to be read", None
    except ValueError:
        return None
    if found:
        return f"the key {found[0][:100]!r} is given twice in one object of the body: give each key once", found[0]
    return None


async def checked(receive: Receive) -> tuple[Receive, Response | None]:
    """Read the body from ``receive``; return what hands it on, and the refusal if a key repeats."""
    chunks: list[bytes] = []
    last: Message | None = None
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: hand that on as it came
            last = message
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if not handed:
            handed = True
            return last if last is not None else {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    refused = body_problem(body) if last is None else None
    if refused is None:
        return replay, None
    detail, key = refused
    error = {"field": "body", "value": None if key is None else key[:200], "problem": detail}
    if key is not None:
        error["problem"] = "key given twice"
    return replay, problem(422, "invalid-request", "Invalid request", detail, {"errors": [error]})
