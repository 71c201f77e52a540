"""The project commands of the ``textal`` CLI: ``init`` (a recipe and a file become a Label Studio project),
``up`` (Label Studio, the backend and the worker on this machine, then ``init``) and ``export``.

Registered with the Label Studio commands (``ml_backend.commands``) through the ``textal.commands``
entry point; bad input ends with one line and exit code 2, as in every ``textal`` command.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ml_backend.config import (
    DEFAULT_BACKEND_URL,
    DEFAULT_LABEL_STUDIO_URL,
    WorkerSettings,
)
from textal.cli.console import out

if TYPE_CHECKING:  # the commands import what they run when they run (``textal --help`` stays fast)
    from ml_backend.export import Exported
    from ml_backend.recipes.recipe import Recipe
    from ml_backend.stack.up import Stack

RecipeOpt = Annotated[
    str, typer.Option("--recipe", help="A shipped recipe's name (spam, support_tickets) or a recipe folder.")
]
DataOpt = Annotated[
    Path, typer.Option("--data", help="The texts to label: CSV, TSV, JSONL, Parquet or a datasets folder.")
]
NameOpt = Annotated[
    str | None, typer.Option("--project-name", help="The project's name (default: the recipe's title).")
]
WithLabelsOpt = Annotated[bool, typer.Option("--with-labels", help="Import the file's gold labels as annotations.")]
HOME_HELP = "The folder `textal up` runs over (its Label Studio and key serve when LABEL_STUDIO_API_KEY is unset)."
DEFAULT_HOME = Path(".textal")


def register(app: typer.Typer) -> None:
    """Add ``init``, ``up``, ``down`` and ``export`` to ``app`` (the ``textal`` CLI): ``COMMANDS``, listed after
    them."""
    for command in COMMANDS:
        app.command()(command)


def init(
    recipe: RecipeOpt,
    data: DataOpt,
    label_studio: Annotated[
        str | None,
        typer.Option(
            "--label-studio",
            help="Label Studio's URL (default: "
            "LABEL_STUDIO_URL or LABEL_STUDIO_HOST, else the --home "
            f"folder's, else {DEFAULT_LABEL_STUDIO_URL}).",
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="textal serve's URL, as Label Studio "
            "reaches it (default: the --home folder's with its Label "
            f"Studio, else {DEFAULT_BACKEND_URL}).",
        ),
    ] = None,
    project_name: NameOpt = None,
    with_labels: WithLabelsOpt = False,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait until Label Studio orders by textal (0: do not wait).")
    ] = 600.0,
    home: Annotated[Path, typer.Option("--home", help=HOME_HELP)] = DEFAULT_HOME,
) -> None:
    """Create (or complete) a Label Studio project from a recipe and a file, connected to textal's backend.

    The API key comes from LABEL_STUDIO_API_KEY, else from the `textal up` folder (.textal/ls-key). Run it
    again at any time: it finds the project and adds only what is missing."""
    from ml_backend.recipes.init import check_label_studio, init_project
    from ml_backend.recipes.recipe import load_recipe
    from ml_backend.stack.access import studio_access

    chosen = load_recipe(recipe)
    access = studio_access(home, label_studio)
    studio = check_label_studio(access.url, access.api_key, access.key_source)
    with _progress():
        result = init_project(
            chosen,
            data,
            studio=studio,
            backend_url=backend or access.backend_url or DEFAULT_BACKEND_URL,
            title=project_name,
            with_labels=with_labels,
            wait_s=wait,
            say=_say,
            backend_auth=None if backend else access.backend_auth,
        )
    _report(result, "<the backend's --data-dir>", _home_arg(home))


def up(
    recipe: RecipeOpt,
    data: DataOpt,
    home: Annotated[
        Path, typer.Option("--home", help="Folder for Label Studio's data, the backend's, logs and keys.")
    ] = DEFAULT_HOME,
    ls_port: Annotated[
        int | None, typer.Option("--ls-port", help="Label Studio's port (default 8080, or the last one used).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="textal serve's port (default 9090).")] = None,
    project_name: NameOpt = None,
    with_labels: WithLabelsOpt = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Leave the servers running and return (stop them with `textal down`).")
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Label Studio's database: postgresql://USER@HOST:PORT/NAME (its password in POSTGRE_PASSWORD), "
            "as teams run it in production. Default: SQLite under --home.",
        ),
    ] = None,
) -> None:
    """Run Label Studio, textal serve and textal worker here, and set up a project from a recipe (make run)."""
    from ml_backend.errors import BackendConfigError
    from ml_backend.labelstudio.server_env import DatabaseURLError, database_environment
    from ml_backend.recipes.init import read_data
    from ml_backend.recipes.recipe import load_recipe
    from ml_backend.stack.up import Stack

    started = time.monotonic()
    try:
        database_environment(database, {})  # a malformed URL stops here, before any server starts
    except DatabaseURLError as exc:
        raise BackendConfigError(f"--database: {exc}") from None
    chosen = load_recipe(recipe)
    read_data(chosen, data, with_labels)  # a bad file stops here, before any server starts
    stack = Stack(home, ls_port=ls_port, backend_port=port, say=_say, detached=detach, database=database)
    _stop_on_signals()
    try:
        stack.start()
        _init_on(stack, chosen, data, project_name, with_labels, home)
        _say(f"Ready {time.monotonic() - started:.0f} s after start.")
        if detach:
            stack.detach()
            return
        _watch(stack)
    except KeyboardInterrupt:
        _say("Stopping...")
    finally:
        stack.stop()


def down(
    home: Annotated[Path, typer.Option("--home", help="The folder `textal up` runs over.")] = DEFAULT_HOME,
) -> None:
    """Stop a `textal up` over this folder: one left running with --detach, or one in another shell."""
    from ml_backend.stack.up import stop_all

    stopped = stop_all(home)
    _say(f"Stopped {len(stopped)} processes." if stopped else f"Nothing runs over {home}.")


def export(
    project: Annotated[int, typer.Option("--project", help="Label Studio project id.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl, spacy (a DocBin) or hf (a datasets folder).")],
    out_path: Annotated[Path, typer.Option("--out", help="The file (or folder, for hf) to write.")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Read the worker's copy in this data folder instead of Label Studio."),
    ] = None,
    label_studio: Annotated[
        str | None,
        typer.Option(
            "--label-studio",
            help="Label Studio's URL (default: LABEL_STUDIO_URL or LABEL_STUDIO_HOST, else the --home folder's).",
        ),
    ] = None,
    agreement: Annotated[
        float,
        typer.Option(
            "--agreement", help="Share of annotators that must agree; below it a task is flagged as disputed."
        ),
    ] = WorkerSettings(Path(".")).agreement_threshold,
    home: Annotated[Path, typer.Option("--home", help=HOME_HELP)] = DEFAULT_HOME,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            "--force",
            help="hf: write into a non-empty folder that is not an earlier export (its other files are kept).",
        ),
    ] = False,
) -> None:
    """Export a project's labels (resolved by agreement, with the disputed flag and the evaluation-slice mark).

    The API key comes from LABEL_STUDIO_API_KEY, else from the `textal up` folder (.textal/ls-key)."""
    from textal.data.writers import EXPORT_FORMATS, write_export
    from textal.errors import DataError

    if fmt not in EXPORT_FORMATS:
        raise DataError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    exported = _exported(project, agreement, data_dir, home, label_studio)
    schema = exported.schema
    written = write_export(exported.rows, out_path, fmt, schema.labels, schema.multi_label, overwrite=overwrite)
    _say_exported(exported, written)


# -- up, step by step ----------------------------------------------------------------------------------------------


def _stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP stop ``textal up`` as Ctrl-C does (also where a shell started it ignoring SIGINT)."""

    def interrupted(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)


def _init_on(stack: Stack, recipe: Recipe, data: Path, title: str | None, with_labels: bool, home: Path) -> None:
    """Set the project up on the stack's Label Studio and say how to log in."""
    from ml_backend.recipes.init import check_label_studio, init_project
    from ml_backend.stack.up import ADMIN_EMAIL

    studio = check_label_studio(stack.ls_url, stack.api_key)
    with _progress():
        result = init_project(
            recipe,
            data,
            studio=studio,
            backend_url=stack.backend_url,
            title=title,
            with_labels=with_labels,
            say=_say,
            backend_auth=stack.backend_auth,
        )
    _report(result, str(stack.home.backend), _home_arg(home))
    _say(
        f"Log in at {stack.ls_url} as {ADMIN_EMAIL}; the password is in {stack.home.password_file} "
        f"(the API key in {stack.home.key_file})."
    )


def _watch(stack: Stack) -> None:
    """Wait until Ctrl-C (KeyboardInterrupt) or until one of the stack's processes stops (ChildFailed)."""
    from ml_backend.stack.processes import ChildFailed

    _say("Press Ctrl-C to stop Label Studio, textal serve and textal worker.")
    while (dead := stack.dead()) is None:
        time.sleep(1.0)
    raise ChildFailed(f"{dead.name} stopped (exit code {dead.process.returncode}), so everything stops; see {dead.log}")


# -- export, step by step ------------------------------------------------------------------------------------------


def _exported(project: int, agreement: float, data_dir: Path | None, home: Path, label_studio: str | None) -> Exported:
    """The project's labels resolved by agreement: from the worker's mirror in ``data_dir``, else from Label Studio."""
    from ml_backend.export import from_mirror, from_studio
    from ml_backend.recipes.init import check_label_studio
    from ml_backend.stack.access import studio_access

    if data_dir is not None:
        return from_mirror(data_dir, project, agreement)
    access = studio_access(home, label_studio)
    return from_studio(check_label_studio(access.url, access.api_key, access.key_source), project, agreement)


def _say_exported(exported: Exported, written: Path) -> None:
    """What an export wrote: how many tasks, and how many of them disputed, in the slice, marked or left out."""
    disputed = sum(r.disputed for r in exported.rows)
    evals = sum(r.eval for r in exported.rows)
    review = sum(r.review for r in exported.rows)
    _say(
        f"Wrote {len(exported.rows)} labelled tasks to {written} ({disputed} disputed, {evals} in the "
        f"evaluation slice, {review} marked for review as probably wrong; columns 'disputed', 'eval' and "
        f"'review' mark them)."
    )
    if exported.ties:
        _say(f"{exported.ties} tasks whose annotators tied have no label and were left out.")


COMMANDS = (init, up, down, export)


def _progress():
    from textal.cli.console import RichReporter
    from textal.runtime import progress

    return progress.reporting(RichReporter())


def _textal() -> str:
    """How to call this textal from the user's shell: ``textal`` when it is on PATH, else its path
    (.venv/bin/textal)."""
    script = Path(sys.executable).parent / "textal"
    found = shutil.which("textal")
    if found and Path(found).resolve() == script.resolve():
        return "textal"
    return os.path.relpath(script) if script.is_relative_to(Path.cwd()) else str(script)


def _say(text: str) -> None:
    """One line to stdout, never wrapped by us: a command or path in it copies and pastes whole, however narrow
    the terminal (the terminal folds it for display only); no rich markup, so ``[...]`` prints as written."""
    out.print(text, soft_wrap=True, markup=False)


def _home_arg(home: Path) -> str:
    """`` --home H`` for a printed command, or nothing for the default folder."""
    return "" if Path(home).resolve() == DEFAULT_HOME.resolve() else f" --home {shlex.quote(str(home))}"


def _report(result, data_dir: str, home_arg: str = "") -> None:
    verb = "Created" if result.created else "Completed"
    _say(
        f"{verb} project {result.title!r} (id {result.project_id}): {result.tasks} tasks, {result.imported} "
        f"imported now{', backend connected' if result.connected else ''}."
    )
    if result.predicted is not None:
        if result.predicted >= (result.open_tasks or 0):
            _say(f"textal has ordered every task: {result.predicted} predictions of {result.model_version}.")
        else:
            _say(
                f"Label Studio serves textal's order: the first {result.predicted} of {result.open_tasks} open "
                f"tasks hold a prediction of {result.model_version}; the rest follow in the background."
            )
    _say(f"Open {result.url}")
    _say(
        "Next: click 'Label All Tasks' and label; textal retrains after each label and serves the most "
        "informative task next."
    )
    textal = _textal()
    _say(f"Where it stands: {textal} status --project {result.project_id} --data-dir {data_dir}")
    _say(f"The labels: {textal} export --project {result.project_id} --format csv --out labels.csv{home_arg}")
