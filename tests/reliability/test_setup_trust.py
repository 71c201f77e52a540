"""Nobody reconfigures a project without credentials, squats one, or points the worker at something else (issue 26:
New 2, New 6, Old 7, Old 8).

In-process: the backend's ASGI app through a test client, and a small HTTP stub of the Label Studio calls textal
makes (whoami, a project), so each test controls what "the real Label Studio" holds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ml_backend.config import ServerSettings, WorkerSettings
from ml_backend.errors import HopelessError
from ml_backend.server.app import create_app
from ml_backend.state.projects import ProjectRef
from tests.support.label_studio_stub import StubLabelStudio, StubRequest
from textal.store.model_store import ModelStore

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
HACKED = CONFIG.replace('"ham"', '"HACKED"')
TOKEN = "a" * 40
RECIPE = {"strategy": "margin", "batch": 20, "full_every": 500, "review_marks": 50}


class StubStudio(StubLabelStudio):
    """Label Studio as far as textal asks it: whoami and ``/api/projects/<id>/`` (its label config).
    ``not_label_studio``: every path is a 404, as any other web server answers."""

    def __init__(self, projects: dict[int, dict] | None = None, not_label_studio: bool = False) -> None:
        self.projects = projects or {}
        self.not_label_studio = not_label_studio
        super().__init__(self.answer_get)

    @property
    def seen(self) -> list[str]:
        """The paths asked for so far."""
        return [request.path for request in self.requests]

    def answer_get(self, request: StubRequest) -> tuple[int, Any]:
        if request.method != "GET":
            return 501, "<html>Unsupported method</html>"
        if self.not_label_studio:
            return 404, "<html>Not Found</html>"
        if request.authorization != f"Token {TOKEN}":
            return 401, {"detail": "Invalid token."}
        if request.route == "/api/current-user/whoami":
            return 200, {"id": 1, "email": "admin@example.com"}
        if request.route.startswith("/api/projects/"):
            pid = int(request.route.strip("/").split("/")[2])
            held = self.projects.get(pid)
            if held is None:
                return 404, {"detail": "Not found."}
            created = datetime.fromtimestamp(held.get("epoch", 100), tz=timezone.utc).isoformat()
            return 200, {"id": pid, "label_config": held["label_config"], "created_at": created}
        return 404, {"detail": "Not found."}


@pytest.fixture
def studio():
    made: list[StubStudio] = []

    def make(**kwargs) -> StubStudio:
        made.append(StubStudio(**kwargs))
        return made[-1]

    yield make
    for stub in made:
        stub.close()


@pytest.fixture
def store(tmp_path: Path, spam_model) -> Path:
    root = tmp_path / "store"
    ModelStore(root).publish(spam_model, {"note": "reliability"})
    return root


@pytest.fixture
def app_for(tmp_path, store):
    clients: list[TestClient] = []

    def make(**env: str) -> TestClient:
        clients.append(TestClient(create_app(ServerSettings.create(store, tmp_path / "data", "entropy", environ=env))))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def setup_body(project="3.100", schema=CONFIG, hostname=None, token=None, extra=None) -> dict:
    body = {"project": project, "schema": schema}
    if hostname is not None:
        body["hostname"] = hostname
    if token is not None:
        body["access_token"] = token
    if extra is not None:
        body["extra_params"] = extra
    return body


# -- New 2: nobody reconfigures a project without credentials -------------------------------------------------


def test_a_setup_without_credentials_changes_neither_labels_strategy_nor_settings(app_for, studio):
    ls = studio(projects={3: {"label_config": CONFIG}})
    c = app_for(LABEL_STUDIO_URL=ls.url)
    assert c.post("/setup", json=setup_body(hostname=ls.url, token=TOKEN, extra=RECIPE)).status_code == 200
    backend = c.app.state.backend
    assert backend.projects.get(3).params == {k: v for k, v in RECIPE.items() if k != "strategy"}
    # the probe of the finding: same host, no token, other labels and settings
    hacked = {"strategy": "random", "full_every": 1, "review_marks": 0, "batch": 10}
    answer = c.post("/setup", json=setup_body(project="3", schema=HACKED, extra=hacked))
    assert answer.status_code == 200  # Label Studio's own /setup must not fail; the body is only a hint
    answer = c.post("/setup", json=setup_body(schema=HACKED, hostname=ls.url, token="b" * 40, extra=hacked))
    assert answer.status_code == 403  # a token its Label Studio refuses is not stored, nor anything else
    state = backend.projects.get(3)
    assert list(state.schema.labels) == ["ham", "spam"] and state.label_config == CONFIG
    assert state.strategy == "margin" and state.params["full_every"] == 500 and state.params["batch"] == 20


def test_a_setup_label_studio_cannot_confirm_changes_nothing_of_a_known_project(app_for, studio):
    ls = studio(projects={3: {"label_config": CONFIG}})
    c = app_for(LABEL_STUDIO_URL=ls.url)
    assert c.post("/setup", json=setup_body(hostname=ls.url, token=TOKEN, extra=RECIPE)).status_code == 200
    ls.close()  # Label Studio down: nothing can be confirmed
    answer = c.post("/setup", json=setup_body(schema=HACKED, extra={"strategy": "random"}))
    assert answer.status_code == 200
    state = c.app.state.backend.projects.get(3)
    assert state.label_config == CONFIG and state.strategy == "margin"


def test_predict_with_a_label_config_saves_it_only_when_label_studio_holds_it(app_for, studio):
    ls = studio(projects={3: {"label_config": CONFIG}})
    c = app_for(LABEL_STUDIO_URL=ls.url)
    assert c.post("/setup", json=setup_body(hostname=ls.url, token=TOKEN)).status_code == 200
    body = {"project": "3.100", "label_config": HACKED, "tasks": [{"id": 1, "data": {"text": "free prize"}}]}
    assert c.post("/predict", json=body).status_code == 200
    assert c.app.state.backend.projects.get(3).label_config == CONFIG
    ls.projects[3]["label_config"] = HACKED  # now Label Studio holds it: the project follows
    assert c.post("/predict", json=body).status_code == 200
    assert c.app.state.backend.projects.get(3).label_config == HACKED


def test_an_unknown_project_label_studio_does_not_hold_is_a_404(app_for, studio):
    ls = studio(projects={})
    c = app_for(LABEL_STUDIO_URL=ls.url)
    answer = c.post("/setup", json=setup_body(project="4.100", hostname=ls.url, token=TOKEN))
    assert answer.status_code == 404 and "no project 4" in answer.json()["error"]
    assert c.app.state.backend.projects.get(4) is None


def test_empty_extra_params_reset_a_projects_settings(app_for):
    c = app_for(BASIC_AUTH_USER="ls", BASIC_AUTH_PASS="pw")  # a request with credentials: its body is taken
    auth = ("ls", "pw")
    assert c.post("/setup", json=setup_body(extra=RECIPE), auth=auth).status_code == 200
    assert c.app.state.backend.projects.get(3).params["batch"] == 20
    assert c.post("/setup", json=setup_body(extra={}), auth=auth).status_code == 200
    state = c.app.state.backend.projects.get(3)
    assert state.params == {} and not state.strategy


@pytest.mark.parametrize(
    "extra",
    [
        {"batch": 10**17},
        {"eval_every": 10**9},
        {"review_marks": 10**7},
        {"full_every": 10**12},
        {"min_eval": 10**9},
        {"eval_min": 10**9},
    ],
)
def test_settings_out_of_range_are_a_400_with_a_json_reason(app_for, extra):
    c = app_for()
    answer = c.post("/setup", json=setup_body(extra=extra))
    assert answer.status_code == 400 and "extra_params" in answer.json()["error"]
    assert c.app.state.backend.projects.get(3) is None


def test_textal_up_switches_basic_auth_on_and_sets_it_on_the_connection_and_webhook(tmp_path, monkeypatch):
    import ml_backend.stack.up as up
    from ml_backend.recipes.init import connect_backend

    started: dict[str, dict] = {}

    class FakeChild:
        def __init__(self, name):
            self.name, self.process = name, type("P", (), {"pid": 1, "returncode": None})()

        def alive(self):
            return True

    def fake_start(name, cmd, log, env, cwd, die_with_parent=True):
        started[name] = dict(env)
        return FakeChild(name)

    monkeypatch.setattr(up, "start", fake_start)
    monkeypatch.setattr(up, "wait_until", lambda *a, **k: None)
    stack = up.Stack(tmp_path / "home", say=lambda _: None)
    stack.start()
    secret = stack.home.backend_password_file
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) >= 32
    serve = started["textal serve"]
    assert serve["BASIC_AUTH_USER"] == "textal" and serve["BASIC_AUTH_PASS"] == secret.read_text().strip()
    assert serve["LABEL_STUDIO_URL"] == stack.ls_url

    class Admin:  # Label Studio's connection and webhook calls, recorded
        def __init__(self):
            self.calls, self.studio = [], self

        def connections(self, project_id):
            return []

        def connect(self, project_id, url, title, params, auth=None):
            self.calls.append(("connect", auth))

        def _raw(self, method, path, what, body=None, params=None):
            self.calls.append((method, path, body))
            return [] if method == "GET" else {}

    admin = Admin()
    connect_backend(admin, 1, stack.backend_url, {}, stack.backend_auth)
    assert admin.calls[0] == ("connect", stack.backend_auth)
    hook = admin.calls[-1]
    assert hook[0] == "POST" and hook[2]["headers"]["Authorization"] == stack.backend_auth.header()


# -- New 6: no "whoever comes first" ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_to_start_without_a_named_label_studio(command, tmp_path, monkeypatch, textal_cli):
    import ml_backend.server.run
    import ml_backend.worker.consumer

    ran: list[str] = []  # were they to start, they would return at once here instead of serving
    monkeypatch.setattr(ml_backend.server.run, "serve", lambda **kwargs: ran.append("serve"))
    monkeypatch.setattr(ml_backend.worker.consumer, "run_worker", lambda *a, **k: ran.append("worker"))
    for name in ("LABEL_STUDIO_URL", "LABEL_STUDIO_HOST"):
        monkeypatch.delenv(name, raising=False)
    data = ["--data-dir", str(tmp_path / "data")]
    code, _, err = textal_cli(
        ["serve", "--store", str(tmp_path / "store"), *data] if command == "serve" else ["worker", *data]
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert ran == [] and code == 2 and len(lines) == 1 and "LABEL_STUDIO_URL" in lines[0] and "Traceback" not in err
    monkeypatch.setenv("LABEL_STUDIO_HOST", "http://127.0.0.1:8080")  # either name names it
    code, _, err = textal_cli(
        ["serve", "--store", str(tmp_path / "store"), *data] if command == "serve" else ["worker", *data]
    )
    assert code == 0 and ran == [command], err


# -- Old 7: a URL that is not a Label Studio is given up --------------------------------------------------------


def test_a_url_that_is_not_a_label_studio_is_given_up_not_retried(tmp_path, studio):
    from ml_backend.labelstudio.client import Studio
    from ml_backend.queue.factory import make_huey
    from ml_backend.queue.jobs import Jobs
    from ml_backend.worker.context import WorkerContext
    from ml_backend.worker.reconcile import Reconciler

    web = studio(not_label_studio=True)
    with pytest.raises(HopelessError, match="is not a Label Studio"):
        Studio(web.url, TOKEN, timeout=5, retries=0).with_working_key()
    settings = WorkerSettings.create(
        tmp_path / "data", environ={"LABEL_STUDIO_URL": web.url, "LABEL_STUDIO_API_KEY": "k" * 40}
    )
    ctx = WorkerContext(settings, Jobs(make_huey(settings.data_dir)))
    ctx.registry.setup(ProjectRef(3, 100), CONFIG, hostname=web.url, access_token=TOKEN)
    reconciler = Reconciler(ctx)
    reconciler.run_once()
    assert "is not a Label Studio" in ctx.given_up(3)["reason"]
    asked = len(web.seen)
    for _ in range(3):  # no more calls every pass
        reconciler.run_once()
    assert len(web.seen) == asked


# -- Old 8: only scheme://host:port ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/internal/admin?x=", "/internal/admin", "/?x=1", "#frag"])
def test_a_setup_hostname_with_a_path_on_the_pinned_host_is_refused(app_for, studio, suffix):
    ls = studio(projects={3: {"label_config": CONFIG}})
    c = app_for(LABEL_STUDIO_URL=ls.url)
    answer = c.post("/setup", json=setup_body(hostname=ls.url + suffix, token=TOKEN))
    assert answer.status_code == 400 and "scheme://host[:port]" in answer.json()["error"]
    assert c.app.state.backend.projects.get(3) is None
    assert c.post("/setup", json=setup_body(hostname=ls.url + "/", token=TOKEN)).status_code == 200
    assert c.app.state.backend.projects.get(3).hostname == ls.url
