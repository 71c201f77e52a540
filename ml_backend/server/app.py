"""The ASGI app Label Studio 1.23 talks to: /health, /setup, /predict, /webhook, /versions (and /openapi.json).

Label Studio times out /setup and /health in seconds and webhooks in one second, so those only
read state and enqueue; /predict runs the model (in a worker thread) on the latest published
version. Every error is a JSON ``{"error": reason}`` with a 4xx status; the server stays up.
``create_app`` only wires: the endpoints are ``Endpoints``' methods, their bodies read by
``ml_backend.server.requests``, and the guards are ``ml_backend.server.guards``' middleware.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ml_backend.config import PREFILL_MARGIN, ServerSettings
from ml_backend.labelstudio.predictions import NO_MODEL_VERSION, no_model_results, prediction
from ml_backend.labelstudio.schema import TaskSchema
from ml_backend.queue.jobs import Jobs
from ml_backend.scoring.predict import predict as predict_tasks
from ml_backend.server.admission import PredictSlot, SetupSlot
from ml_backend.server.backend import Backend
from ml_backend.server.guards import BasicAuth, BodyLimit, Framing, ServerToServer, answer_limit
from ml_backend.server.openapi import openapi_document
from ml_backend.server.requests import (
    BadRequest,
    PredictRequest,
    SetupRequest,
    WebhookRequest,
    checked_config,
    parse_predict,
    parse_setup,
    parse_webhook,
    project_ref,
    read_json,
)
from ml_backend.server.trust import accept_setup, settle_config, settle_setup
from ml_backend.state.projects import ProjectLimitError, ProjectRef, ProjectState, ProjectStateTooLarge
from textal import __version__
from textal.errors import TextalError
from textal.ranking.scale import Scorer
from textal.runtime import logs

log = logging.getLogger("ml_backend.server")


def create_app(settings: ServerSettings, *, jobs: Jobs | None = None) -> FastAPI:
    """The backend's ASGI app for ``settings`` (``jobs`` overrides the queue, for tests)."""
    backend = Backend(settings, jobs)
    app = FastAPI(
        title="textal ML backend",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        exception_handlers=ERROR_ANSWERS,
    )
    app.state.backend = backend
    add_routes(app, Endpoints(backend))
    add_guards(app, settings)
    return app


def add_routes(app: FastAPI, endpoints: Endpoints) -> None:
    """Each path to its endpoint."""
    app.add_api_route("/", endpoints.health, methods=["GET"])
    app.add_api_route("/health", endpoints.health, methods=["GET"])
    app.add_api_route("/openapi.json", endpoints.openapi, methods=["GET"])
    app.add_api_route("/setup", endpoints.setup, methods=["POST"])
    app.add_api_route("/predict", endpoints.predict, methods=["POST"])
    app.add_api_route("/webhook", endpoints.webhook, methods=["POST"])
    app.add_api_route("/versions", endpoints.versions, methods=["GET"])


def add_guards(app: FastAPI, settings: ServerSettings) -> None:
    """The middleware every request passes (added last runs first: a request of ambiguous length is read no further,
    browsers are refused, then auth, all before anything reads the body)."""
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
    app.add_middleware(Framing)


# -- errors: each a JSON {"error": reason} -------------------------------------------------------------------------


async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
    """A refusal: its status and reason (logged clipped, once a minute a kind)."""
    return refused(request, exc.status, exc.reason)


async def project_limit(request: Request, exc: ProjectLimitError) -> JSONResponse:
    """A project the backend has no room for: a 413 for its state's size, a 403 for the number of projects."""
    if isinstance(exc, ProjectStateTooLarge):
        return refused(request, 413, f"{exc} (3 x TEXTAL_MAX_CONFIG_KB, and 64 KB)")
    return refused(request, 403, f"{exc} (TEXTAL_MAX_PROJECTS)")


def refused(request: Request, status: int, reason: str) -> JSONResponse:
    """The JSON answer of a refusal, logged clipped and once a minute a kind (a client can make it recur)."""
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


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """The framework's own refusals (404, 405 with its Allow header) in the same JSON form."""
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with its kind only."""
    log.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the backend's log"}, status_code=500)


ErrorAnswer = Callable[[Request, Any], Coroutine[Any, Any, Response]]
ERROR_ANSWERS: dict[int | type[Exception], ErrorAnswer] = {  # every refusal and failure answered as JSON
    BadRequest: bad_request,
    ProjectLimitError: project_limit,
    StarletteHTTPException: http_error,
    Exception: internal_error,
}


# -- the endpoints -------------------------------------------------------------------------------------------------


class Endpoints:
    """The routes' handlers over one ``Backend``: each reads its request, then does its work off the event loop."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.settings = backend.settings
        self.predict_slot = PredictSlot(self.settings.predict_concurrency)
        self.setup_slot = SetupSlot(self.settings.setup_concurrency, self.settings.setup_queue_s)
        self.contract = openapi_document(self.settings)

    async def health(self) -> dict[str, Any]:
        """/ and /health: UP, with the version serving each project."""
        return await run_in_threadpool(self._health)

    async def openapi(self) -> dict[str, Any]:
        """/openapi.json: this server's contract."""
        return self.contract

    async def setup(self, request: Request) -> dict[str, Any]:
        """/setup: record the project (as far as Label Studio confirms it) and queue its set-up."""
        asked = parse_setup(await read_json(request, self.settings.max_json_depth))
        return await self.setup_slot.run(partial(self._setup, asked))  # threads of its own: see SetupSlot

    async def predict(self, request: Request) -> dict[str, Any]:
        """/predict: the tasks scored by the project's serving version, within the answer's bound."""
        asked = parse_predict(await read_json(request, self.settings.max_json_depth), self.settings.max_predict_tasks)
        gone = threading.Event()
        s = self.settings
        answer_max = answer_limit(len(await request.body()), s.answer_floor_bytes, s.answer_ratio)
        return await self.predict_slot.run(request, partial(self._predict, asked, answer_max, gone.is_set), gone)

    async def webhook(self, request: Request) -> dict[str, Any]:
        """/webhook: queue a retrain, or the scoring of new tasks; other events are ignored."""
        hook = parse_webhook(await read_json(request, self.settings.max_json_depth))
        if hook.ignored:
            logs.limited(log, logging.INFO, "webhook ignored", "webhook %s ignored", hook.action)
            return {"status": "ignored", "action": hook.action}
        return await run_in_threadpool(self._queue, hook)

    async def versions(self, project: str | None = None) -> dict[str, Any]:
        """The versions that can answer: for ``project``, or (Label Studio asks without one) for every project."""
        project_id = project_ref(project).id if project is not None else None
        return await run_in_threadpool(self._versions, project_id)

    # -- the work, in a thread -------------------------------------------------------------------------------------

    def _health(self) -> dict[str, Any]:
        serving = self.backend.serving()
        base = self.backend.models.base.current()
        only = list(serving.values())[0] if len(serving) == 1 else None
        answer = {
            "status": "UP",
            "model_class": "textal",
            "model_version": only or (base.model_version if base else None),
            "projects": {str(pid): version for pid, version in serving.items()},
            "strategy": self.settings.strategy,
            "textal_version": __version__,
        }
        problems = self.backend.models.problems()
        if problems:  # still UP: the last good version answers
            answer["degraded"] = "; ".join(problems)
        return answer

    def _setup(self, asked: SetupRequest) -> dict[str, Any]:
        backend, settings, ref = self.backend, self.settings, asked.ref
        if asked.strategy is not None:
            self._strategy(asked.strategy)
        checked_config(settings, asked.label_config)
        previous = backend.projects.get(ref.id)
        self._check_room(previous)
        accepted = accept_setup(
            settings, ref, previous, backend.projects.access_token(ref.id), asked.hostname, asked.access_token
        )
        # what the project is comes from Label Studio (or a request that passed basic auth), never a bare body
        settled = settle_setup(
            settings,
            ref,
            previous,
            backend.projects.access_token(ref.id),
            accepted.token,
            asked.label_config,
            asked.extra,
        )
        if settled.strategy:
            self._strategy(settled.strategy)
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
        self._queue_setup(state)
        log.info("set up project %s (strategy %s): model_version %s", state.uid, backend.strategy_of(state), version)
        return {"model_version": version}

    def _strategy(self, name: str) -> Scorer:
        """The scorer of strategy ``name``, or a 400 saying why there is none."""
        try:
            return self.backend.scorer(name)
        except TextalError as exc:
            raise BadRequest(str(exc)) from None

    def _check_room(self, previous: ProjectState | None) -> None:
        """A 403 for a new project past the projects' cap (checked again, atomically, where it is created)."""
        max_projects = self.settings.max_projects
        if previous is None and len(self.backend.projects.ids()) >= max_projects:
            raise BadRequest(f"this backend serves at most {max_projects} projects (TEXTAL_MAX_PROJECTS)", status=403)

    def _queue_setup(self, state: ProjectState) -> None:
        """Ask the worker to set the project up and score its tasks now, not at the next reconciliation."""
        try:
            self.backend.jobs.enqueue_retrain(state.id, reason="SETUP")
        except Exception as exc:  # the queue down must not fail the connection: reconciliation catches up
            log.warning("project %s: could not queue its set-up (%s: %s)", state.id, type(exc).__name__, exc)

    def _predict(self, asked: PredictRequest, answer_max: int, cancelled: Callable[[], bool]) -> dict[str, Any]:
        backend, settings = self.backend, self.settings
        started = time.perf_counter()
        state = self._with_config(backend.known_project(asked.ref), asked.label_config)
        try:
            scorer = backend.scorer(backend.strategy_of(state))
        except TextalError as exc:
            raise BadRequest(f"project {state.id}: {exc}") from None
        loaded = backend.models.for_project(state.id, wait=settings.swap_wait_s)
        if loaded is None:
            reason = f"no model published yet in {settings.store} or the project's own store; train one first"
            logs.limited(log, logging.WARNING, ("no model", state.id), "predict for project %s: %s", state.id, reason)
            return {"results": no_model_results(len(asked.tasks), reason), "model_version": NO_MODEL_VERSION}
        rows = predict_tasks(
            asked.tasks,
            state.schema,
            loaded,
            scorer,
            max_chars=settings.max_text_chars,
            batch_size=settings.batch_size,
            scale=backend.scale(state.id, loaded.model_version),
            prefill_margin=state.params.get("prefill_margin", PREFILL_MARGIN),
            cancelled=cancelled,
        ).rows
        results = bounded_results(rows, state.schema, loaded.model_version, answer_max)
        log.info(
            "predicted %d tasks of project %s with %s in %.0f ms",
            len(asked.tasks),
            state.id,
            loaded.model_version,
            1000 * (time.perf_counter() - started),
        )
        return {"results": results, "model_version": loaded.model_version}

    def _with_config(self, state: ProjectState, label_config: str | None) -> ProjectState:
        """The project's state after a /predict that sent ``label_config``: a hint only, Label Studio decides."""
        if label_config is None or label_config == state.label_config:
            return state
        adopted = settle_config(self.settings, state, self.backend.projects.access_token(state.id), label_config)
        if adopted is None:
            return state
        return self.backend.projects.update_config(state, checked_config(self.settings, adopted))

    def _queue(self, hook: WebhookRequest) -> dict[str, Any]:
        assert hook.ref is not None
        state = self.backend.known_project(hook.ref)
        if hook.scores:
            job = self.backend.jobs.enqueue_score(state.id, list(hook.task_ids))
            return {
                "status": "queued",
                "job": "score_tasks",
                "id": job,
                "project": state.id,
                "tasks": len(hook.task_ids),
            }
        job = self.backend.jobs.enqueue_retrain(state.id, reason=hook.action)
        return {"status": "queued", "job": "retrain", "id": job, "project": state.id}

    def _versions(self, project_id: int | None) -> dict[str, Any]:
        backend = self.backend
        if project_id is not None:
            backend.known_project(ProjectRef(project_id))  # an unknown id is a 404, and costs no memory
        ids = [project_id] if project_id is not None else backend.projects.ids()
        names: list[str] = []
        asked: list[int | None] = list(ids) if ids else [None]  # no project set up: the base store's only
        for pid in asked:
            names += [v for v in backend.models.published(pid) if v not in names]
        serving = backend.serving(ids)
        return {"versions": names, "serving": {str(pid): version for pid, version in serving.items()}}


def bounded_results(rows: list[Any], schema: TaskSchema, model_version: str, limit: int) -> list[dict[str, Any]]:
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
