"""Reading a request: the JSON body, required fields, project references; refusals as ``BadRequest``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ml_backend.state.projects import ProjectRef, ProjectRefError, parse_project_ref


class BadRequest(Exception):
    """A request textal refuses, with the status and the reason it answers."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def read_json(request: Request, max_depth: int = 32) -> dict[str, Any]:
    """The request body as a JSON object, or a BadRequest saying what is wrong with it: not JSON, nested deeper
    than ``max_depth``, or holding text that is not valid Unicode (a lone surrogate). Only a body sent as
    ``application/json`` is read: a web page cannot send one cross-site without a CORS preflight."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise BadRequest("the body must be JSON (Content-Type: application/json)", status=415)
    body = await request.body()
    if not body.strip():
        raise BadRequest("empty request body; expected a JSON object")
    if _nesting(body) > max_depth:
        raise BadRequest(f"JSON nested more than {max_depth} levels deep")
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise BadRequest(f"unreadable JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"expected a JSON object, got a JSON {type(data).__name__}")
    _check_text(data)
    return data


def _nesting(body: bytes) -> int:
    """The deepest bracket nesting of a JSON text, strings skipped (before parsing: deep input never recurses)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _check_text(data: Any) -> None:
    """BadRequest if any key or string is not encodable Unicode (JSON's \\ud800 escapes can make lone surrogates)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BadRequest(
                    "the JSON holds a lone surrogate (\\ud800-\\udfff escape), which is not text"
                ) from None


def require(data: dict[str, Any], field: str, kind: type | tuple[type, ...], what: str) -> Any:
    """``data[field]``, checked to be present and of ``kind``."""
    if field not in data or data[field] is None:
        raise BadRequest(f"missing field {field!r} ({what})")
    value = data[field]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadRequest(f"field {field!r} must be {what}, got {type(value).__name__}")
    return value


def project_ref(value: Any) -> ProjectRef:
    try:
        return parse_project_ref(value)
    except ProjectRefError as exc:
        raise BadRequest(str(exc)) from None
