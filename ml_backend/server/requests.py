"""Reading a request: the JSON body, required fields, project references, and what /setup, /predict and /webhook
each read from their body (typed, checked before any work starts); refusals as ``BadRequest``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from ml_backend.config import ServerSettings, project_params
from ml_backend.errors import BackendConfigError
from ml_backend.labelstudio.schema import LabelConfigError, parse_label_config
from ml_backend.state.projects import ProjectRef, ProjectRefError, parse_project_ref

RETRAIN_ACTIONS = frozenset(
    {"ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED", "START_TRAINING"}
)
SCORE_ACTIONS = frozenset({"TASKS_CREATED"})
PROJECT_ID = 'the project id, such as "3.1717000000"'


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
    """``value`` as a Label Studio project reference, or a BadRequest saying why it is not one."""
    try:
        return parse_project_ref(value)
    except ProjectRefError as exc:
        raise BadRequest(str(exc)) from None


def checked_config(settings: ServerSettings, label_config: str) -> str:
    """``label_config`` if textal can serve it within the limits; BadRequest naming the limit otherwise. The size is
    counted in UTF-8 bytes (what is stored), and its names, data key and choices are bounded in length
    (``schema.MAX_NAME_CHARS``): nothing a config names grows an answer without bound."""
    size = len(label_config.encode("utf-8"))
    if size > settings.max_config_chars:
        raise BadRequest(
            f"the label config is {size} bytes (UTF-8); the limit is "
            f"{settings.max_config_chars // 1024} KB (TEXTAL_MAX_CONFIG_KB)",
            status=413,
        )
    try:
        schema = parse_label_config(label_config)
    except LabelConfigError as exc:
        raise BadRequest(str(exc)[:500]) from None
    if len(schema.labels) > settings.max_choices:
        raise BadRequest(
            f"the label config has {len(schema.labels)} choices; the limit is {settings.max_choices} "
            "(TEXTAL_MAX_CHOICES)",
            status=413,
        )
    return label_config


# -- /setup --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupRequest:
    """What a /setup body asks for. ``extra``: its extra_params as an object (None: it sent none, or ``""``);
    ``strategy``: the strategy they name (None: none)."""

    ref: ProjectRef
    label_config: str
    hostname: str | None
    access_token: str | None
    extra: dict[str, Any] | None
    strategy: str | None


def parse_setup(data: dict[str, Any]) -> SetupRequest:
    """The /setup body ``data`` read and checked: the project and its label config are required; extra_params, an
    object or a JSON text of one, must hold settings within their bounds (a 400 whoever sends them)."""
    ref = project_ref(require(data, "project", (str, int), PROJECT_ID))
    label_config = require(data, "schema", str, "the project's label config (XML)")
    extra = _extra_params(data.get("extra_params"))
    strategy = extra.get("strategy") if extra else None
    if strategy is not None and not isinstance(strategy, str):
        raise BadRequest("extra_params.strategy must be a strategy name")
    try:
        if extra:
            project_params(extra)
    except BackendConfigError as exc:
        raise BadRequest(f"extra_params: {exc}") from None
    return SetupRequest(
        ref, label_config, _text_or_none(data.get("hostname")), _text_or_none(data.get("access_token")), extra, strategy
    )


def _text_or_none(value: Any) -> str | None:
    """``value`` if it is a non-empty string (Label Studio sends ``""`` or nothing for a field it has not)."""
    return value if isinstance(value, str) and value else None


def _extra_params(extra: Any) -> dict[str, Any] | None:
    """extra_params as an object (a string is read as JSON), None when absent or ``""``; a BadRequest otherwise."""
    if isinstance(extra, str) and extra.strip():
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            raise BadRequest("extra_params is a string but not JSON") from None
    if extra is not None and extra != "" and not isinstance(extra, dict):
        raise BadRequest("extra_params must be a JSON object of project settings")
    return extra if isinstance(extra, dict) else None


# -- /predict ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictRequest:
    """What a /predict body asks for: its tasks (objects, at most the server's limit), the project, and the label
    config Label Studio sent with them (a hint; None: it sent none, or not a string)."""

    tasks: list[dict[str, Any]]
    ref: ProjectRef
    label_config: str | None


def parse_predict(data: dict[str, Any], max_tasks: int) -> PredictRequest:
    """The /predict body ``data`` read and checked: a list of at most ``max_tasks`` task objects (more is a 413),
    and the project."""
    tasks = require(data, "tasks", list, "a list of Label Studio tasks")
    if len(tasks) > max_tasks:
        raise BadRequest(
            f"{len(tasks)} tasks in one request; the limit is {max_tasks} "
            "(TEXTAL_MAX_PREDICT_TASKS): ask for predictions in smaller selections",
            status=413,
        )
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise BadRequest(f"tasks[{i}] must be a task object, got {type(task).__name__}")
    ref = project_ref(require(data, "project", (str, int), PROJECT_ID))
    label_config = data.get("label_config")
    return PredictRequest(tasks, ref, label_config if isinstance(label_config, str) else None)


# -- /webhook ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    """A Label Studio event: its action, and for one textal acts on the project (None: ignored, nothing more read)
    and, for ``TASKS_CREATED``, the ids of the tasks created."""

    action: str
    ref: ProjectRef | None = None
    task_ids: tuple[int, ...] = ()

    @property
    def ignored(self) -> bool:
        """Whether textal does nothing on this event."""
        return self.ref is None

    @property
    def scores(self) -> bool:
        """Whether the event asks for new tasks to be scored (else for a retrain)."""
        return self.action in SCORE_ACTIONS


def parse_webhook(data: dict[str, Any]) -> WebhookRequest:
    """The /webhook body ``data`` read and checked: an action; for one textal acts on, the project, and for tasks
    created, each task's integer id."""
    action = require(data, "action", str, "the Label Studio event name")
    if action not in RETRAIN_ACTIONS and action not in SCORE_ACTIONS:
        return WebhookRequest(action)
    if data.get("project") is None:
        raise BadRequest(f"missing field 'project' in the {action} webhook")
    ref = project_ref(data["project"])
    if action not in SCORE_ACTIONS:
        return WebhookRequest(action, ref)
    return WebhookRequest(action, ref, _task_ids(require(data, "tasks", list, "the created tasks")))


def _task_ids(tasks: list[Any]) -> tuple[int, ...]:
    """The ids of created ``tasks`` (each an object with an integer ``id``, or the id itself)."""
    ids: list[int] = []
    for i, task in enumerate(tasks):
        tid = task.get("id") if isinstance(task, dict) else task
        if not isinstance(tid, int) or isinstance(tid, bool):
            raise BadRequest(f"tasks[{i}] has no integer 'id'")
        ids.append(tid)
    return tuple(ids)
