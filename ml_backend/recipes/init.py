"""``textal init``: a recipe and a data file become a Label Studio project connected to textal's backend.

Everything that can be wrong is checked before anything is created: the recipe, the file and its
labels, Label Studio and its key, the backend. Then it creates (or finds) the project, imports the
rows it lacks, connects the backend with the recipe's settings, and waits until Label Studio orders
by textal (the worker's first push: every task of a small project, the head of a large one's order).
The project carries a mark (recipe and data fingerprint in its description; ``textal_row`` in each
task), so running it again, or after a crash halfway, completes the same project and duplicates
nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from ml_backend.config import LABEL_STUDIO_KEY_ENV, BasicCredentials
from ml_backend.labelstudio.admin import StudioAdmin
from ml_backend.labelstudio.client import Studio, StudioError, StudioUnavailable
from ml_backend.labelstudio.ordering import INFORMATIVE_VIEW
from ml_backend.labelstudio.predictions import TEXTAL_VERSION_RE
from ml_backend.labelstudio.schema import TaskSchema
from ml_backend.recipes.recipe import Recipe, RecipeError
from textal.data.corpus import Corpus, load_corpus
from textal.errors import DataError
from textal.runtime import progress

ROW_KEY = "textal_row"  # the row of the data file a task came from
IMPORT_BATCH = 500
CONNECTION_TITLE = "textal"
MARK_RE = re.compile(r"\(textal init: recipe (?P<recipe>[^,]+), data (?P<data>[0-9a-f]+)")


class InitError(DataError):
    """``textal init`` cannot go on: one line saying what to do (exit code 2)."""


@dataclass(frozen=True)
class InitResult:
    project_id: int
    title: str
    created: bool
    imported: int  # tasks imported by this run
    tasks: int  # tasks in the project
    connected: bool  # this run connected the backend
    predicted: int | None  # tasks holding a prediction of the serving version (None: not waited for)
    open_tasks: int | None  # unlabelled tasks when it was counted
    model_version: str | None
    url: str  # the project's Data Manager, on textal's view when it exists


def read_data(recipe: Recipe, path: Path, with_labels: bool) -> tuple[Corpus, tuple[str, ...]]:
    """The file's rows and the project's labels; labels outside the recipe's are refused with their row."""
    need_labels = with_labels or recipe.labels is None
    try:
        corpus = load_corpus(
            path,
            text_col=recipe.text_column,
            label_col=recipe.label_column,
            require_labels=need_labels,
            with_labels=recipe.label_column is not None,
            label_set=recipe.labels,
        )
    except DataError as exc:
        missing_labels = recipe.label_column is not None and f"no column {recipe.label_column!r}" in str(exc)
        if need_labels or not missing_labels:
            raise InitError(_with_hint(str(exc), recipe, with_labels)) from None
        corpus = load_corpus(path, text_col=recipe.text_column, with_labels=False)  # no gold labels: fine
    except OSError as exc:
        raise InitError(f"{path}: unreadable ({exc.strerror or type(exc).__name__})") from None
    labels = recipe.labels or corpus.label_set
    if not labels:
        raise InitError(f"{path}: no labels found in column {recipe.label_column!r}")
    return corpus, tuple(labels)


def _with_hint(message: str, recipe: Recipe, with_labels: bool) -> str:
    if "is not in the label set" in message:
        return f"{message}, the labels of recipe {recipe.name} ({recipe.path})"
    if with_labels and recipe.label_column and recipe.label_column in message:
        return f"{message}; --with-labels needs the recipe's label column"
    return message


def check_label_studio(url: str, api_key: str | None, key_source: str = LABEL_STUDIO_KEY_ENV) -> Studio:
    """A client for ``url`` whose key Label Studio accepts; InitError otherwise (naming ``key_source``, where the
    key came from, never the key)."""
    if not api_key:
        raise InitError(f"set {LABEL_STUDIO_KEY_ENV} to your Label Studio API key (Account & Settings > Access Token)")
    try:
        studio = Studio(url, api_key, timeout=60.0, retries=0)
        studio.check_key()
    except StudioUnavailable:
        raise InitError(
            f"cannot reach Label Studio at {url}: start it, or give --label-studio URL (or LABEL_STUDIO_URL)"
        ) from None
    except StudioError as exc:
        if "refused the API token" in str(exc):
            raise InitError(
                f"Label Studio at {url} refused the API key in {key_source}; copy it from "
                "Account & Settings > Access Token"
            ) from None
        raise InitError(str(exc)) from None
    return studio


def check_backend(url: str, auth: BasicCredentials | None = None) -> None:
    """InitError unless textal's backend answers at ``url`` (with ``auth``, its basic auth)."""
    try:
        headers = {"Authorization": auth.header()} if auth else {}
        answer = httpx.get(f"{url.rstrip('/')}/health", headers=headers, timeout=5.0)
        ok = answer.status_code == 200 and answer.json().get("model_class") == "textal"
    except (httpx.HTTPError, ValueError):
        ok = False
    if not ok:
        raise InitError(
            f"no textal backend answers at {url}: start `textal serve` and `textal worker` (or give --backend URL)"
        )


def find_project(admin: StudioAdmin, title: str, recipe: Recipe, fingerprint: str) -> int | None:
    """The project this recipe and file made before, or None; InitError if the title is taken by another."""
    for p in admin.projects():
        if p.title != title:
            continue
        mark = MARK_RE.search(p.description)
        if mark is None:
            raise InitError(
                f"Label Studio has a project {title!r} (id {p.id}) that textal init did not make; "
                "give another --project-name"
            )
        if mark["recipe"] != recipe.name or mark["data"] != fingerprint:
            raise InitError(
                f"project {title!r} (id {p.id}) was made by textal init from recipe {mark['recipe']} and "
                "other data; give another --project-name for this file"
            )
        return p.id
    return None


def own_title(recipe: Recipe, data: Path) -> str:
    """The name a file gets when the recipe's title is taken by another file's project: the file's name in it."""
    return f"{recipe.title} ({Path(data).name})"


def choose_project(
    admin: StudioAdmin, recipe: Recipe, data: Path, fingerprint: str, title: str | None
) -> tuple[str, int | None]:
    """The project's name and id (None: not made yet). A name given is used or refused (``find_project``); without
    one, the recipe's title, else one from the file's name: another file's project is never touched, and the same
    file finds its project again."""
    if title:
        return title, find_project(admin, title, recipe, fingerprint)
    names = (recipe.title, own_title(recipe, data))
    for name in names:
        try:
            return name, find_project(admin, name, recipe, fingerprint)
        except InitError:
            continue
    raise InitError(
        f"projects {names[0]!r} and {names[1]!r} hold other data; name this file's project with "
        "--project-name (make run: PROJECT=...)"
    )


def tasks_for(corpus: Corpus, schema: TaskSchema, rows: list[int], with_labels: bool) -> list[dict]:
    out = []
    for i in rows:
        task: dict = {"data": {schema.text_key: corpus.texts[i], ROW_KEY: i}}
        if with_labels and corpus.labels is not None:
            label = corpus.labels[i]
            task["annotations"] = [
                {"result": [schema.choices_result(list(label) if isinstance(label, tuple) else [label])]}
            ]
        out.append(task)
    return out


def init_project(
    recipe: Recipe,
    data: Path,
    *,
    studio: Studio,
    backend_url: str,
    title: str | None = None,
    with_labels: bool = False,
    wait_s: float = 600.0,
    say: Callable[[str], None] = lambda _: None,
    backend_auth: BasicCredentials | None = None,
) -> InitResult:
    """Create or complete the project (see the module's docstring); returns where it stands."""
    corpus, labels = read_data(recipe, data, with_labels)
    try:
        label_config, schema = recipe.config_for(labels)
    except RecipeError as exc:
        raise InitError(str(exc)) from None
    check_backend(backend_url, backend_auth)
    admin = StudioAdmin(studio)
    fingerprint = corpus.fingerprint()
    chosen, project_id = choose_project(admin, recipe, data, fingerprint, title)
    if not title and chosen != recipe.title and project_id is None:
        say(
            f"Project {recipe.title!r} holds other data, so this file gets its own project, {chosen!r} "
            "(--project-name, or PROJECT= for make run, names it)."
        )
    title = chosen
    created = project_id is None
    if project_id is None:
        description = (
            f"{recipe.description}\n\n(textal init: recipe {recipe.name}, data {fingerprint}, {len(corpus)} rows)"
        ).strip()
        project_id = admin.create_project(title, description, label_config)
        say(f"Created project {title!r} (id {project_id}).")
    else:
        say(f"Found project {title!r} (id {project_id}) made from this file: completing it.")

    have = {d.get(ROW_KEY) for d in admin.task_data(project_id)}
    missing = [i for i in range(len(corpus)) if i not in have]
    if missing:
        with progress.task(f"Importing {len(missing)} tasks", total=len(missing)) as bar:
            for start in range(0, len(missing), IMPORT_BATCH):
                part = missing[start : start + IMPORT_BATCH]
                admin.import_tasks(project_id, tasks_for(corpus, schema, part, with_labels))
                bar.advance(len(part))

    connected = connect_backend(admin, project_id, backend_url, recipe.extra_params(), backend_auth)
    predicted = open_tasks = version = None
    if wait_s > 0:
        predicted, open_tasks, version = wait_for_predictions(studio, project_id, wait_s)
    views = studio.views(project_id)
    view = views.get(INFORMATIVE_VIEW)
    url = f"{studio.url}/projects/{project_id}/data" + (f"?tab={view}" if view else "")
    info = studio.project(project_id)
    return InitResult(
        project_id, title, created, len(missing), info.task_number, connected, predicted, open_tasks, version, url
    )


def connect_backend(
    admin: StudioAdmin, project_id: int, backend_url: str, params: dict, auth: BasicCredentials | None = None
) -> bool:
    """Connect the backend with the recipe's settings (and ``auth``, the basic auth Label Studio is to send it), or
    bring the connection up to date; whether it did."""
    connections = admin.connections(project_id)
    ours = [c for c in connections if c.url.rstrip("/") == backend_url.rstrip("/")] or [
        c for c in connections if c.title == CONNECTION_TITLE
    ]  # made by init when the backend had another port
    current = bool(ours) and ours[0].extra_params == params and ours[0].url.rstrip("/") == backend_url.rstrip("/")
    if current and auth is not None:  # its password is write-only in Label Studio: set it again unless all agrees
        current = ours[0].auth_method == "BASIC_AUTH" and ours[0].auth_user == auth.user
    try:
        with_auth = {"auth": auth} if auth is not None else {}
        if not current and ours:
            admin.update_connection(ours[0].id, project_id, backend_url, params, **with_auth)
        elif not current:
            admin.connect(project_id, backend_url, CONNECTION_TITLE, params, **with_auth)
        hooked = ensure_webhook(admin.studio, project_id, backend_url, auth)
    except StudioError as exc:
        raise InitError(_connect_problem(str(exc), admin.studio.url, backend_url)) from None
    return not current or hooked


def ensure_webhook(studio: Studio, project_id: int, backend_url: str, auth: BasicCredentials | None = None) -> bool:
    """Add the backend's webhook where the project lacks it; whether it did. Label Studio makes it only while it
    creates the connection, so a creation its SSRF protection refused halfway leaves a connection without one
    (labels would then reach the worker only through its periodic reconciliation). With ``auth`` the webhook
    carries the backend's basic auth as a header (the one Label Studio makes carries none)."""
    url = backend_url.rstrip("/") + "/webhook"
    hooks = (
        studio._raw(
            "GET", "api/webhooks/", f"listing the webhooks of project {project_id}", params={"project": project_id}
        )
        or []
    )
    headers = {"Authorization": auth.header()} if auth else None
    for hook in hooks:
        if str(hook.get("url") or "").rstrip("/") != url or hook.get("project") not in (None, project_id):
            continue
        held = hook.get("headers") if isinstance(hook.get("headers"), dict) else {}
        if headers is None or held.get("Authorization") == headers["Authorization"]:
            return False
        studio._raw(
            "PATCH",
            f"api/webhooks/{int(hook['id'])}/",
            f"adding the backend's basic auth to the webhook {url}",
            {"headers": {**held, **headers}},
        )
        return True
    studio._raw(
        "POST",
        "api/webhooks/",
        f"adding the webhook {url} to project {project_id}",
        {
            "project": project_id,
            "url": url,
            "send_payload": True,
            "send_for_all_actions": True,
            **({"headers": headers} if headers else {}),
        },
    )
    return True


def _connect_problem(error: str, studio_url: str, backend_url: str) -> str:
    """What to do when Label Studio would not connect the backend: the two causes seen, else its own words."""
    if "(403)" in error:  # the key was accepted a moment ago: the address is what it blocks
        return (
            f"Label Studio at {studio_url} refused to connect the backend at {backend_url} (403; it accepted "
            "the key): it blocks backends on this machine unless started with ML_BLOCK_LOCAL_IP=false "
            "SSRF_PROTECTION_ENABLED=false (README: Your own Label Studio); restart it so, then run this again"
        )
    if "answered 400" in error:  # Label Studio says "doesn't look like a valid ML backend": /setup failed
        return (
            f"Label Studio at {studio_url} could not set up the backend at {backend_url} (textal serve's log says "
            "why); most often textal serve's LABEL_STUDIO_URL differs from the address Label Studio gives "
            "itself (http://localhost:PORT unless it was started with --host URL): make them the same, restart "
            "textal serve and textal worker, then run this again"
        )
    return error


def wait_for_predictions(studio: Studio, project_id: int, wait_s: float) -> tuple[int, int, str]:
    """Wait until Label Studio orders the project by a version textal pushed (the worker switches it once the
    head of the order holds that version's predictions); returns how many tasks hold one, of how many open."""
    deadline = time.monotonic() + wait_s
    with progress.task("Waiting for textal's first predictions", total=None):
        while True:
            info = studio.project(project_id)
            version = info.model_version or ""
            open_tasks = max(info.task_number - info.tasks_with_annotations, 0)
            count = studio.model_versions(project_id).get(version, 0) if TEXTAL_VERSION_RE.match(version) else 0
            if count or (info.task_number and not open_tasks):  # ordered; or every task labelled: nothing to order
                return count, open_tasks, version
            if time.monotonic() > deadline:
                raise InitError(
                    f"after {wait_s:.0f} s, Label Studio does not order project {project_id} by textal yet: is "
                    "`textal worker` running on the backend's --data-dir? (its log says why; run init again to wait)"
                )
            time.sleep(1.0)
