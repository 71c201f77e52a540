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


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a BadRequest saying what is wrong with it."""
    body = await request.body()
    if not body.strip():
        raise BadRequest("empty request body; expected a JSON object")
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"expected a JSON object, got a JSON {type(data).__name__}")
    return data


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
