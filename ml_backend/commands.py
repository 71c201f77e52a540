"""The Label Studio commands of the ``textal`` CLI: ``serve``, ``worker``, ``retrain``, ``status``.

Registered through the ``textal.commands`` entry point (pyproject.toml), so the ``textal`` package
never imports ``ml_backend``; ``textal --help`` lists them with the library's own commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ml_backend.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_STRATEGY,
    WorkerSettings,
    queue_url,
    require_label_studio,
)
from textal.cli.console import out
from textal.errors import TextalError

if TYPE_CHECKING:  # the commands import what they run when they run (``textal --help`` stays fast)
    from rich.table import Table

    from ml_backend.state.status import ProjectStatus

D = WorkerSettings(data_dir=Path("."))  # the worker's defaults, as the flags show them
StoreOpt = Annotated[Path, typer.Option("--store", help="Model store folder.")]
DataDirOpt = Annotated[Path, typer.Option("--data-dir", help="The backend's data folder (as given to `textal serve`).")]


def register(app: typer.Typer) -> None:
    """Add the commands to ``app`` (the ``textal`` CLI): ``COMMANDS``, listed after them at the end."""
    for command in COMMANDS:
        app.command()(command)


def serve(
    store: StoreOpt,
    host: Annotated[str, typer.Option(help="Bind address.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port.")] = DEFAULT_PORT,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Backend state and queue folder.")] = None,
    strategy: Annotated[
        str, typer.Option(help="Informativeness measure behind the score Label Studio sorts by.")
    ] = DEFAULT_STRATEGY,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Serve the Label Studio ML backend (predictions and webhooks) from the model store.

    Needs LABEL_STUDIO_URL (or LABEL_STUDIO_HOST): the one Label Studio it serves."""
    from ml_backend.server.run import serve as serve_backend

    require_label_studio("textal serve")

    serve_backend(store=store, host=host, port=port, data_dir=data_dir, strategy=strategy, log_level=log_level)


def worker(
    data_dir: DataDirOpt,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="The store `textal serve --store` serves before a project has its own versions."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Job threads (jobs of one project never overlap).")] = 1,
    strategy: Annotated[
        str, typer.Option(help="Strategy of projects whose set-up named none (give `textal serve` the same).")
    ] = D.strategy,
    encoder: Annotated[
        str, typer.Option(help="Frozen encoder of the fast tier: default (MiniLM) or a model folder.")
    ] = D.encoder,
    class_weight: Annotated[
        str, typer.Option("--class-weight", help="Weigh classes in the fast tier's head: balanced or none.")
    ] = D.class_weight,
    eval_fraction: Annotated[
        float, typer.Option(help="Share of tasks reserved as the evaluation slice.")
    ] = D.eval_fraction,
    eval_min: Annotated[int, typer.Option(help="Smallest evaluation slice (at most half the tasks).")] = D.eval_min,
    batch: Annotated[int, typer.Option(help="The strategy's next batch, put first in Label Studio's order.")] = D.batch,
    eval_every: Annotated[
        int, typer.Option(help="One evaluation-slice task in every this many served (0: the whole slice first).")
    ] = D.eval_every,
    full_every: Annotated[
        int, typer.Option(help="New labels between full fine-tunes (0: on request only).")
    ] = D.full_every,
    precision: Annotated[
        str,
        typer.Option(
            help="The encoder's number format: auto (bf16 where the CPU or GPU has it natively, else fp32), "
            "fp32, bf16, int8 (CPU). Versions it publishes embed new texts the same way."
        ),
    ] = D.precision,
    full_tier: Annotated[
        str,
        typer.Option(
            help="How the full tier tunes the transformer: contrastive (texts sharing a label embed together) "
            "or plain (end to end with a classification head)."
        ),
    ] = D.full_tier,
    full_epochs: Annotated[int, typer.Option(help="Epochs of a plain full fine-tune.")] = D.full_epochs,
    full_min_steps: Annotated[
        int, typer.Option(help="Fewest optimizer steps of a plain full fine-tune.")
    ] = D.full_min_steps,
    promote_margin: Annotated[
        float,
        typer.Option(
            help="Macro-F1 a version may lose against its parent on the "
            "evaluation slice and still be promoted (inf: always)."
        ),
    ] = D.promote_margin,
    min_eval: Annotated[
        int, typer.Option(help="Labelled evaluation-slice tasks needed before that comparison is made.")
    ] = D.min_eval,
    review_marks: Annotated[
        int,
        typer.Option(
            help="After each retrain, mark at most this many labels that are "
            "probably wrong for review in Label Studio (0: no review)."
        ),
    ] = D.review_marks,
    review_holdout: Annotated[
        bool,
        typer.Option(
            "--review-holdout",
            help="Keep the labels marked for review out "
            "of training until they change (off: it helped on SMS spam and "
            "hurt on BANKING77 and CLINC150, benchmarks/label_noise).",
        ),
    ] = D.review_holdout,
    reconcile_every: Annotated[
        float, typer.Option(help="Seconds between checks against Label Studio.")
    ] = D.reconcile_s,
    head: Annotated[
        int,
        typer.Option(
            help="Open tasks a new version's predictions go to before Label Studio "
            "switches to it (its label stream serves from these); the rest "
            "follow in the background."
        ),
    ] = D.head,
    push_chunk: Annotated[
        int,
        typer.Option(
            help="Predictions imported per request to Label Studio (fewer: its database is locked for shorter spans)."
        ),
    ] = D.push_chunk,
    keep_replaced: Annotated[
        float,
        typer.Option(
            help="Seconds a replaced version's predictions stay in Label "
            "Studio before they are deleted (an editor opened under it "
            "sends its prediction's id back on Submit)."
        ),
    ] = D.keep_replaced_s,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the retrain worker: new labels in Label Studio -> a fresher model and a reordered queue.

    Needs LABEL_STUDIO_URL (or LABEL_STUDIO_HOST): the one Label Studio it works for."""
    from ml_backend.worker.consumer import run_worker

    settings = WorkerSettings.create(
        data_dir,
        store=store,
        strategy=strategy,
        encoder=encoder,
        class_weight=class_weight,
        eval_fraction=eval_fraction,
        eval_min=eval_min,
        batch=batch,
        eval_every=eval_every,
        full_every=full_every,
        precision=precision,
        full_tier=full_tier,
        full_epochs=full_epochs,
        full_min_steps=full_min_steps,
        promote_margin=promote_margin,
        min_eval=min_eval,
        review_marks=review_marks,
        review_holdout=review_holdout,
        reconcile_s=reconcile_every,
        deep_reconcile_s=max(60 * reconcile_every, D.deep_reconcile_s),
        head=head,
        push_chunk=push_chunk,
        keep_replaced_s=keep_replaced,
    )
    require_label_studio("textal worker")
    run_worker(settings, workers=workers, log_level=log_level)


def retrain(
    project: Annotated[int, typer.Option("--project", help="Label Studio project id.")],
    data_dir: DataDirOpt,
    full: Annotated[bool, typer.Option("--full", help="Fine-tune the transformer too (minutes on a CPU).")] = False,
) -> None:
    """Queue a retrain of a Label Studio project (the running `textal worker` does it; coalesced with others)."""
    from ml_backend.queue.factory import make_huey
    from ml_backend.queue.jobs import Jobs
    from ml_backend.state.projects import ProjectRegistry

    if ProjectRegistry(data_dir).get(project) is None:
        raise TextalError(f"{data_dir}: no project {project}; connect `textal serve --data-dir {data_dir}` to it first")
    jobs = Jobs(make_huey(data_dir, queue_url()))
    job = (
        jobs.enqueue_finetune(project, "textal retrain --full")
        if full
        else jobs.enqueue_retrain(project, "textal retrain")
    )
    out.print(f"Queued {'a full fine-tune' if full else 'a retrain'} of project {project} (job {job}).")


def status(
    project: Annotated[int, typer.Option("--project", help="Label Studio project id.")],
    data_dir: DataDirOpt,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Learning-curve PNG (default: in the project's worker folder).")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="The base store `textal serve --store` serves "
            "(default: the one a <store>-backend data folder sits beside).",
        ),
    ] = None,
) -> None:
    """A Label Studio project's labels, agreement, versions with held-out metrics, learning curve, stopping verdicts."""
    from ml_backend.state.layout import DataLayout
    from ml_backend.state.status import project_status

    st = project_status(data_dir, project, base_store=store)
    _print_overview(project, st)
    _print_training(st)
    if st.review_line():
        out.print(st.review_line())
    if st.annotators:
        out.print(_annotators_table(st.annotators))
    out.print(_versions_table(st.records) if st.records else "No version published yet.")
    for verdict in st.verdicts:
        out.print(f"{'STOP' if verdict.stop else 'go  '}  {verdict.rule}: {verdict.reason}")
    _print_learning_curve(st, out_file or DataLayout(Path(data_dir)).learning_curve(project))


# -- status, part by part ------------------------------------------------------------------------------------------


def _print_overview(project: int, st: ProjectStatus) -> None:
    """What serves the project, whether the worker gave it up, its labels and its pool."""
    out.print(
        f"Project {project}: strategy {st.strategy or '(worker default)'}, encoder {st.encoder}, "
        f"own version serving {st.latest or '- (the base model, if any)'}, "
        f"Label Studio ordering by {st.pushed or '-'}"
    )
    if st.gave_up_line():
        out.print(st.gave_up_line())
    if st.labels_line():
        out.print(st.labels_line(), markup=False)
    out.print("Pool: " + ", ".join(f"{k} {v}" for k, v in st.pool.items()))


def _print_training(st: ProjectStatus) -> None:
    """The labels the latest own version was trained on, and their agreement."""
    own = [r for r in st.records if not r.get("base")]
    latest = own[-1] if own else {}
    if not latest:
        return
    counts = ", ".join(f"{k} {v}" for k, v in (latest.get("label_counts") or {}).items())
    out.print(f"Training labels (as of {latest.get('version')}): {latest.get('train_size')} ({counts})")
    agreement = latest.get("agreement") or {}
    alpha = agreement.get("alpha")
    out.print(
        f"Agreement: {agreement.get('multi_annotated', 0)} tasks with several annotations, Krippendorff's alpha "
        f"{'-' if alpha is None else f'{alpha:.3f}'}, {agreement.get('flagged', 0)} flagged and left out"
    )


def _annotators_table(annotators: list[dict[str, Any]]) -> Table:
    """The annotators, least reliable first."""
    from rich.table import Table

    people = Table(title="Annotators (over the tasks several of them labelled; quality from cleanlab)")
    for col in ("annotator", "labels", "agreement with consensus", "quality"):
        people.add_column(col, no_wrap=True)
    for a in sorted(annotators, key=lambda a: a.get("quality", 0)):
        people.add_row(
            str(a.get("annotator")),
            str(a.get("labels")),
            f"{a.get('agreement', 0):.2f}",
            f"{a.get('quality', 0):.2f}",
        )
    return people


VERSION_COLUMNS = (
    "version",
    "created (UTC)",
    "trained on",
    "eval n",
    "macro-F1",
    "accuracy",
    "promoted",
    "reason",
    "seconds",
)


def _versions_table(records: list[dict[str, Any]]) -> Table:
    """Every version in the history (the base model's figures too), with its figures on the evaluation slice."""
    from rich.table import Table

    table = Table(title="Versions (metrics on the evaluation slice)")
    for col in VERSION_COLUMNS:
        table.add_column(col, no_wrap=True)
    for r in records:
        table.add_row(*_version_row(r))
    return table


def _version_row(r: dict[str, Any]) -> list[str]:
    """One history record as a row of the versions' table."""
    m = r.get("metrics") or {}
    base = bool(r.get("base"))
    trained = f"{r.get('base_train_size', '?')} (base)" if base else str(r.get("train_size", ""))
    promoted = "base" if base else "yes" if r.get("promoted", True) else "no"
    why = r.get("reason", "") if r.get("promoted", True) else (r.get("promotion") or {}).get("reason", "")
    return [
        str(r.get("version")),
        str(r.get("created_at", ""))[:16].replace("T", " "),
        trained,
        str(m.get("n", 0)),
        f"{m['macro_f1']:.4f}" if "macro_f1" in m else "-",
        f"{m['accuracy']:.4f}" if "accuracy" in m else "-",
        promoted,
        str(why)[:60],
        f"{r.get('seconds', 0):.1f}",
    ]


def _print_learning_curve(st: ProjectStatus, target: Path) -> None:
    """Draw the learning curve to ``target``, or say why there is none yet."""
    from ml_backend.state.status import learning_curve

    written = learning_curve(st, target)
    if written:
        out.print(f"Learning curve: {written}")
    elif st.pool.get("evaluation labelled"):
        out.print(
            "Learning curve: no model to measure on the evaluation slice yet (no base model, and no version "
            "trained: label tasks outside the slice too)."
        )
    else:
        out.print("Learning curve: no held-out figures yet (label some evaluation-slice tasks).")


COMMANDS = (serve, worker, retrain, status)
