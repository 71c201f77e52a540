"""The ASGI app Label Studio 1.23 talks to: /health, /setup, /predict, /webhook, /versions (and /openapi.json).

Label Studio times out /setup and /health in seconds and webhooks in one second, so those only
read state and enqueue; /predict runs the model (in a worker thread) on the latest published
version. Every error is a JSON ``{"error": reason}`` with a 4xx status; the server stays up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ml_backend.config import PREFILL_MARGIN, ServerSettings, project_params
from ml_backend.errors import BackendConfigError
from ml_backend.labelstudio.predictions import (
    NO_MODEL_VERSION,
    no_model_results,
    prediction,
)
from ml_backend.labelstudio.schema import LabelConfigError, parse_label_config
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from ml_backend.scoring.ls_score import ScoreScale
from ml_backend.scoring.predict import predict as predict_tasks
from ml_backend.scoring.scale_file import ScaleFile
from ml_backend.server.admission import PredictSlot, SetupSlot
from ml_backend.server.guards import BasicAuth, BodyLimit, Framing, ServerToServer, answer_limit
from ml_backend.server.openapi import openapi_document
from ml_backend.server.requests import BadRequest, project_ref, read_json, require
from ml_backend.server.slots import ModelCatalog
from ml_backend.server.trust import accept_setup, settle_config, settle_setup
from ml_backend.state.projects import (
    ProjectLimitError,
    ProjectRef,
    ProjectRegistry,
    ProjectState,
    ProjectStateTooLarge,
)
from textal import __version__
from textal.errors import TextalError
from textal.ranking.scale import Scorer
from textal.runtime import logs

log = logging.getLogger("ml_backend.server")

RETRAIN_ACTIONS = frozenset(
    {"ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED", "START_TRAINING"}
)
SCORE_ACTIONS = frozenset({"TASKS_CREATED"})


class Backend:
    """Everything the endpoints share: settings, project state, models, strategies, the job queue."""

    def __init__(self, settings: ServerSettings, jobs: Jobs | None = None) -> None:
        self.settings = settings
        # the projects' cap is checked where a project is created (one at a time), so concurrent set-ups never pass
        # it; what one project stores is bounded by its config's (escaped in JSON, labels listed again)
        self.projects = ProjectRegistry(
            settings.data_dir,
            max_projects=settings.max_projects,
            max_state_bytes=3 * settings.max_config_chars + 64 * 1024,
        )
        self.models = ModelCatalog(settings.store, self.projects.store_path, self.projects.layout.embeddings)
        self.jobs = jobs if jobs is not None else Jobs(make_huey(settings.data_dir, settings.queue_url))
        self._scorers: dict[str, Scorer] = {}
        self._scales: dict[int, ScaleFile] = {}
        self._lock = threading.Lock()
        self.scorer(settings.strategy)  # an unknown --strategy fails at start, not at the first request

    def scorer(self, name: str) -> Scorer:
        with self._lock:
            scorer = self._scorers.get(name)
            if scorer is None:
                scorer = self._scorers[name] = Scorer(name).require_per_batch()
            return scorer

    def strategy_of(self, state: ProjectState) -> str:
        return state.strategy or self.settings.strategy

    def scale(self, project_id: int, model_version: str) -> ScoreScale | None:
        """The score scale the worker pushed ``model_version`` of the project with (None: it has not)."""
        with self._lock:
            file = self._scales.get(project_id)
            if file is None:
                file = self._scales[project_id] = ScaleFile(self.settings.data_dir, project_id)
        return file.read(model_version)

    def serving(self, ids: list[int] | None = None) -> dict[int, str]:
        """The model_version that answers for each project (``ids``, default all): the one serving, never a newer one
        that failed to load (``ModelCatalog.answering``)."""
        out = {}
        for pid in self.projects.ids() if ids is None else ids:
            version = self.models.answering(pid)
            if version is not None:
                out[pid] = version
        return out


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


def bounded_results(rows: list[Any], schema: Any, model_version: str, limit: int) -> list[dict[str, Any]]:
    """The /predict results of ``rows``, or a 413 once they pass ``limit`` bytes (counted as they are made, so an
    answer too large is never held whole): an answer is bounded relative to its request."""
    results: list[dict[str, Any]] = []
    size = 64 + len(model_version)
    for row in rows:
        item = prediction(row, schema, model_version)
        size += len(json.dumps(item)) + 2
        if size > limit:
            raise BadRequest(
                f"the answer would be more than {limit} bytes, more than this request may ask for "
                "(a fixed allowance and a multiple of its own size); ask for fewer tasks at once",
                status=413,
            )
        results.append(item)
    return results


def known_project(backend: Backend, ref: ProjectRef) -> ProjectState:
    state = backend.projects.get(ref)
    if state is None:
        raise BadRequest(
            f"unknown project {ref.uid}: Label Studio has not called /setup for it on this backend "
            "(connect the backend to the project in its Model settings)",
            status=404,
        )
    return state


def create_app(settings: ServerSettings, *, jobs: Jobs | None = None) -> FastAPI:
    """The backend's ASGI app for ``settings`` (``jobs`` overrides the queue, for tests)."""
    backend = Backend(settings, jobs)
    predict_slot = PredictSlot(settings.predict_concurrency)
    setup_slot = SetupSlot(settings.setup_concurrency, settings.setup_queue_s)
    app = FastAPI(title="textal ML backend", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.backend = backend

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        logs.limited(
            log,
            logging.INFO,
            ("refused", request.url.path[:64], exc.status),
            "%s %s -> %d: %s",
            request.method,
            request.url.path,
            exc.status,
            exc.reason,
        )  # clipped, once a minute a kind
        return JSONResponse({"error": exc.reason}, status_code=exc.status)

    @app.exception_handler(ProjectLimitError)
    async def _project_limit(request: Request, exc: ProjectLimitError) -> JSONResponse:
        if isinstance(exc, ProjectStateTooLarge):
            reason, status = f"{exc} (3 x TEXTAL_MAX_CONFIG_KB, and 64 KB)", 413
        else:
            reason, status = f"{exc} (TEXTAL_MAX_PROJECTS)", 403
        logs.limited(
            log,
            logging.INFO,
            ("refused", request.url.path[:64], status),
            "%s %s -> %d: %s",
            request.method,
            request.url.path,
            status,
            reason,
        )
        return JSONResponse({"error": reason}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)  # 405: Allow

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the backend's log"}, status_code=500)

    def health() -> dict[str, Any]:
        serving = backend.serving()
        base = backend.models.base.current()
        only = list(serving.values())[0] if len(serving) == 1 else None
        answer = {
            "status": "UP",
            "model_class": "textal",
            "model_version": only or (base.model_version if base else None),
            "projects": {str(pid): version for pid, version in serving.items()},
            "strategy": settings.strategy,
            "textal_version": __version__,
        }
        problems = backend.models.problems()
        if problems:  # still UP: the last good version answers
            answer["degraded"] = "; ".join(problems)
        return answer

    @app.get("/")
    async def index() -> dict[str, Any]:
        return await run_in_threadpool(health)

    @app.get("/health")
    async def health_endpoint() -> dict[str, Any]:
        return await run_in_threadpool(health)

    contract = openapi_document(settings)

    @app.get("/openapi.json")
    async def openapi() -> dict[str, Any]:
        return contract

    @app.post("/setup")
    async def setup(request: Request) -> dict[str, Any]:
        data = await read_json(request, settings.max_json_depth)
        ref = project_ref(require(data, "project", (str, int), 'the project id, such as "3.1717000000"'))
        schema = require(data, "schema", str, "the project's label config (XML)")
        hostname = data.get("hostname") if isinstance(data.get("hostname"), str) and data.get("hostname") else None
        token = (
            data.get("access_token") if isinstance(data.get("access_token"), str) and data.get("access_token") else None
        )
        extra = data.get("extra_params")
        if isinstance(extra, str) and extra.strip():
            try:
                extra = json.loads(extra)
            except json.JSONDecodeError:
                raise BadRequest("extra_params is a string but not JSON") from None
        if extra is not None and extra != "" and not isinstance(extra, dict):
            raise BadRequest("extra_params must be a JSON object of project settings")
        strategy = extra.get("strategy") if extra else None
        if strategy is not None and not isinstance(strategy, str):
            raise BadRequest("extra_params.strategy must be a strategy name")
        try:
            if extra:
                project_params(extra)  # bounded: an out-of-range setting is a 400 whoever sends it
        except BackendConfigError as exc:
            raise BadRequest(f"extra_params: {exc}") from None

        def work() -> dict[str, Any]:
            if strategy is not None:
                try:
                    backend.scorer(strategy)
                except TextalError as exc:
                    raise BadRequest(str(exc)) from None
            checked_config(settings, schema)
            previous = backend.projects.get(ref.id)
            if previous is None and len(backend.projects.ids()) >= settings.max_projects:
                raise BadRequest(
                    f"this backend serves at most {settings.max_projects} projects (TEXTAL_MAX_PROJECTS)", status=403
                )
            accepted = accept_setup(settings, ref, previous, backend.projects.access_token(ref.id), hostname, token)
            # what the project is comes from Label Studio (or a request that passed basic auth), never a bare body
            settled = settle_setup(
                settings,
                ref,
                previous,
                backend.projects.access_token(ref.id),
                accepted.token,
                schema,
                extra if isinstance(extra, dict) else None,
            )
            if settled.strategy:
                try:
                    backend.scorer(settled.strategy)
                except TextalError as exc:
                    raise BadRequest(str(exc)) from None
            state = backend.projects.setup(
                ref,
                checked_config(settings, settled.label_config),
                hostname=accepted.hostname,
                access_token=accepted.token,
                strategy=settled.strategy,
                params=settled.params,
            )
            loaded = backend.models.for_project(state.id, wait=settings.setup_wait_s)
            version = loaded.model_version if loaded else NO_MODEL_VERSION
            try:  # the worker sets the project up and scores its tasks now, not at the next reconciliation
                backend.jobs.enqueue_retrain(state.id, reason="SETUP")
            except Exception as exc:  # the queue down must not fail the connection: reconciliation catches up
                log.warning("project %s: could not queue its set-up (%s: %s)", state.id, type(exc).__name__, exc)
            log.info(
                "set up project %s (strategy %s): model_version %s", state.uid, backend.strategy_of(state), version
            )
            return {"model_version": version}

        return await setup_slot.run(work)  # threads of its own: a Label Studio that never answers starves no one

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        data = await read_json(request, settings.max_json_depth)
        tasks = require(data, "tasks", list, "a list of Label Studio tasks")
        if len(tasks) > settings.max_predict_tasks:
            raise BadRequest(
                f"{len(tasks)} tasks in one request; the limit is {settings.max_predict_tasks} "
                "(TEXTAL_MAX_PREDICT_TASKS): ask for predictions in smaller selections",
                status=413,
            )
        for i, task in enumerate(tasks):
            if not isinstance(task, dict):
                raise BadRequest(f"tasks[{i}] must be a task object, got {type(task).__name__}")
        ref = project_ref(require(data, "project", (str, int), 'the project id, such as "3.1717000000"'))
        label_config = data.get("label_config")
        gone = threading.Event()
        answer_max = answer_limit(len(await request.body()), settings.answer_floor_bytes, settings.answer_ratio)

        def work() -> dict[str, Any]:
            started = time.perf_counter()
            state = known_project(backend, ref)
            if isinstance(label_config, str) and label_config != state.label_config:  # a hint: Label Studio decides
                adopted = settle_config(settings, state, backend.projects.access_token(state.id), label_config)
                if adopted is not None:
                    state = backend.projects.update_config(state, checked_config(settings, adopted))
            try:
                scorer = backend.scorer(backend.strategy_of(state))
            except TextalError as exc:
                raise BadRequest(f"project {state.id}: {exc}") from None
            loaded = backend.models.for_project(state.id, wait=settings.swap_wait_s)
            if loaded is None:
                reason = f"no model published yet in {settings.store} or the project's own store; train one first"
                logs.limited(
                    log, logging.WARNING, ("no model", state.id), "predict for project %s: %s", state.id, reason
                )
                return {"results": no_model_results(len(tasks), reason), "model_version": NO_MODEL_VERSION}
            rows = predict_tasks(
                tasks,
                state.schema,
                loaded,
                scorer,
                max_chars=settings.max_text_chars,
                batch_size=settings.batch_size,
                scale=backend.scale(state.id, loaded.model_version),
                prefill_margin=state.params.get("prefill_margin", PREFILL_MARGIN),
                cancelled=gone.is_set,
            ).rows
            results = bounded_results(rows, state.schema, loaded.model_version, answer_max)
            log.info(
                "predicted %d tasks of project %s with %s in %.0f ms",
                len(tasks),
                state.id,
                loaded.model_version,
                1000 * (time.perf_counter() - started),
            )
            return {"results": results, "model_version": loaded.model_version}

        return await predict_slot.run(request, work, gone)

    @app.post("/webhook")
    async def webhook(request: Request) -> dict[str, Any]:
        data = await read_json(request, settings.max_json_depth)
        action = require(data, "action", str, "the Label Studio event name")
        if action not in RETRAIN_ACTIONS and action not in SCORE_ACTIONS:
            logs.limited(log, logging.INFO, "webhook ignored", "webhook %s ignored", action)
            return {"status": "ignored", "action": action}
        if data.get("project") is None:
            raise BadRequest(f"missing field 'project' in the {action} webhook")
        ref = project_ref(data["project"])
        task_ids: list[int] = []
        if action in SCORE_ACTIONS:
            tasks = require(data, "tasks", list, "the created tasks")
            for i, task in enumerate(tasks):
                tid = task.get("id") if isinstance(task, dict) else task
                if not isinstance(tid, int) or isinstance(tid, bool):
                    raise BadRequest(f"tasks[{i}] has no integer 'id'")
                task_ids.append(tid)

        def work() -> dict[str, Any]:
            state = known_project(backend, ref)
            if action in SCORE_ACTIONS:
                job = backend.jobs.enqueue_score(state.id, task_ids)
                return {
                    "status": "queued",
                    "job": "score_tasks",
                    "id": job,
                    "project": state.id,
                    "tasks": len(task_ids),
                }
            job = backend.jobs.enqueue_retrain(state.id, reason=action)
            return {"status": "queued", "job": "retrain", "id": job, "project": state.id}

        return await run_in_threadpool(work)

    @app.get("/versions")
    async def versions(project: str | None = None) -> dict[str, Any]:
        """The versions that can answer: for ``project``, or (Label Studio asks without one) for every project."""
        project_id = project_ref(project).id if project is not None else None

        def work() -> dict[str, Any]:
            if project_id is not None:
                known_project(backend, ProjectRef(project_id))  # an unknown id is a 404, and costs no memory
            ids = [project_id] if project_id is not None else backend.projects.ids()
            names: list[str] = []
            for pid in ids or [None]:
                names += [v for v in backend.models.published(pid) if v not in names]
            serving = backend.serving(ids)
            return {"versions": names, "serving": {str(pid): version for pid, version in serving.items()}}

        return await run_in_threadpool(work)

    # added last runs first: browsers refused, then auth, before anything reads the body
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        answer_floor_bytes=settings.answer_floor_bytes,
        answer_ratio=settings.answer_ratio,
    )
    if settings.basic_auth_user is not None and settings.basic_auth_pass is not None:
        app.add_middleware(BasicAuth, user=settings.basic_auth_user, password=settings.basic_auth_pass)
    app.add_middleware(ServerToServer)
    app.add_middleware(Framing)  # first of all: a request of ambiguous length is read no further
    return app
