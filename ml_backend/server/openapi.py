"""The backend's HTTP contract as an OpenAPI 3.0 document, served at ``/openapi.json``.

Written by hand because the endpoints read their JSON themselves (hostile bodies must get a 4xx
with a reason, not a framework's 422); the limits in it are this server's settings, so the document
says what this server refuses. The reliability suite fuzzes the server against it (schemathesis).
"""

from __future__ import annotations

from typing import Any

from ml_backend.config import ServerSettings
from textal import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_PROJECT = {"$ref": "#/components/schemas/ProjectRef"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _answers(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    """A 200 with ``ok`` and the JSON error for each of ``errors`` and for what every request may meet."""
    reasons = {
        400: "the body or a field is not what the endpoint reads; `error` says which",
        401: "basic auth is configured and the request lacks it",
        403: "refused: a browser's request, or a limit of this backend",
        404: "a project Label Studio has not set up on this backend (/setup: one the configured Label Studio does "
        "not hold)",
        408: "the request body did not arrive in time",
        409: "a known project id with another creation time, which its Label Studio does not confirm",
        413: "over a size limit (of the request, or of the answer it asks for); `error` names the setting",
        415: "a POST body that is not JSON",
        429: "too many set-ups at once: this one waited past Label Studio's timeout for its turn; retry",
    }
    always = {401, 403}
    out: dict[str, Any] = {"200": {"description": "done", **_json(ok)}}
    for status in sorted(always | set(errors)):
        out[str(status)] = {"description": reasons[status], **_json(_ERROR)}
    return out


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, **_json({"type": "object", "properties": properties, "required": required})}


def openapi_document(settings: ServerSettings) -> dict[str, Any]:
    """The OpenAPI 3.0 description of the app ``create_app(settings)`` serves."""
    post_errors = (400, 408, 413, 415)
    health = {
        "type": "object",
        "required": ["status", "model_class", "model_version", "projects", "strategy", "textal_version"],
        "properties": {
            "status": {"type": "string", "enum": ["UP"]},
            "model_class": {"type": "string"},
            "model_version": {"type": "string", "nullable": True},
            "projects": {"type": "object", "additionalProperties": {"type": "string"}},
            "strategy": {"type": "string"},
            "textal_version": {"type": "string"},
            "degraded": {"type": "string", "description": "why an older good version answers"},
        },
    }
    task = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "data": {"type": "object"}},
        "description": "a Label Studio task; its text is data.<the config's Text value>",
    }
    prediction = {
        "type": "object",
        "required": ["result", "model_version"],
        "properties": {
            "result": {"type": "array", "items": {"type": "object"}},
            "score": {"type": "number"},
            "model_version": {"type": "string"},
            "cluster": {"type": "integer"},
            "skipped": {"type": "string"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "textal ML backend",
            "version": __version__,
            "description": 'What Label Studio 1.23 calls. Every refusal is a JSON {"error": reason} with a 4xx.',
        },
        "paths": {
            "/": {"get": {"summary": "the same as /health", "operationId": "index", "responses": _answers(health)}},
            "/health": {
                "get": {
                    "summary": "up, and which version answers for each project",
                    "operationId": "health",
                    "responses": _answers(health),
                }
            },
            "/openapi.json": {
                "get": {"summary": "this document", "operationId": "openapi", "responses": _answers({"type": "object"})}
            },
            "/setup": {
                "post": {
                    "summary": "connect a Label Studio project (Label Studio calls it when the backend is added)",
                    "operationId": "setup",
                    "requestBody": _body(
                        {
                            "project": _PROJECT,
                            "schema": {
                                "type": "string",
                                "maxLength": settings.max_config_chars,
                                "description": "the project's label config (XML), at most maxLength bytes of UTF-8; "
                                "names, data key and choices bounded in length",
                            },
                            "hostname": {
                                "type": "string",
                                "description": "Label Studio's URL; must be the configured one",
                            },
                            "access_token": {"type": "string"},
                            "extra_params": {
                                "oneOf": [{"type": "object"}, {"type": "string"}],
                                "description": "the project's textal settings (a recipe's [active_learning])",
                            },
                        },
                        ["project", "schema"],
                    ),
                    "responses": _answers(
                        {
                            "type": "object",
                            "required": ["model_version"],
                            "properties": {"model_version": {"type": "string"}},
                        },
                        404,
                        409,
                        429,
                        *post_errors,
                    ),
                }
            },
            "/predict": {
                "post": {
                    "summary": "a guess and an informativeness score for each task",
                    "operationId": "predict",
                    "requestBody": _body(
                        {
                            "project": _PROJECT,
                            "tasks": {"type": "array", "items": task, "maxItems": settings.max_predict_tasks},
                            "label_config": {"type": "string", "maxLength": settings.max_config_chars},
                        },
                        ["project", "tasks"],
                    ),
                    "responses": _answers(
                        {
                            "type": "object",
                            "required": ["results", "model_version"],
                            "properties": {
                                "results": {"type": "array", "items": prediction},
                                "model_version": {"type": "string"},
                            },
                        },
                        404,
                        *post_errors,
                    ),
                }
            },
            "/webhook": {
                "post": {
                    "summary": "Label Studio's events: new labels queue a retrain, new tasks their scoring",
                    "operationId": "webhook",
                    "description": "An action textal does not act on is answered 'ignored' without reading the "
                    "rest (Label Studio sends many); project and tasks are read, and checked, for the others.",
                    "requestBody": _body(
                        {
                            "action": {"type": "string"},
                            "project": {"description": "a project id, or Label Studio's project object with its id"},
                            "tasks": {"description": "TASKS_CREATED: the list of created tasks, or of their ids"},
                        },
                        ["action"],
                    ),
                    "responses": _answers(
                        {
                            "type": "object",
                            "required": ["status"],
                            "properties": {"status": {"type": "string", "enum": ["queued", "ignored"]}},
                        },
                        404,
                        *post_errors,
                    ),
                }
            },
            "/versions": {
                "get": {
                    "summary": "the published versions, and which one answers",
                    "operationId": "versions",
                    "parameters": [{"name": "project", "in": "query", "required": False, "schema": _PROJECT}],
                    "responses": _answers(
                        {
                            "type": "object",
                            "required": ["versions", "serving"],
                            "properties": {
                                "versions": {"type": "array", "items": {"type": "string"}},
                                "serving": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        },
                        400,
                        404,
                    ),
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "ProjectRef": {
                    "description": 'a Label Studio project id, or "id.epoch" as Label Studio sends it',
                    "oneOf": [
                        {"type": "string", "pattern": r"^\d{1,18}(\.\d{1,18})?$"},
                        {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                    ],
                },
            }
        },
    }
