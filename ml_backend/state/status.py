"""What ``textal status --project N`` reports, read from the data folder alone (no Label Studio needed).

Labels and agreement as of the latest retrain, the labels that are probably wrong, the pool and its evaluation slice,
every published version with its held-out figures, the stopping rules' verdicts, and a learning-curve figure; and,
when the worker gave the project up (deleted in Label Studio, a malformed URL, a refused token), why,
since when and what a person must do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_backend.state.projects import ProjectRegistry
from ml_backend.state.workfiles import ProjectFiles
from textal.errors import TextalError
from textal.quality.stopping import StopVerdict
from textal.store import history
from textal.store.model_store import ModelStore


@dataclass
class ProjectStatus:
    project_id: int
    strategy: str | None
    pool: dict[str, int]
    latest: str | None  # the version serving now
    pushed: str | None  # the model_version Label Studio orders by (as the worker last set it)
    encoder: str
    records: list[dict[str, Any]]
    verdicts: list[StopVerdict]
    pending_eval_marks: int
    gave_up: dict[str, Any] | None = None  # the worker stopped working on it: reason, action, at (UTC), job
    review: dict[str, Any] | None = None  # the last label review: labels, flagged, marked, cleared, seconds, at
    annotators: list[dict[str, Any]] | None = None  # per annotator: labels, agreement with the consensus, quality
    # the serving model lacks some of the project's labels, so it pre-fills nothing: model_version, unknown, model's
    unknown_labels: dict[str, Any] | None = None

    def labels_line(self) -> str | None:
        """One line saying the serving model guesses nothing because it never learned some of the project's labels."""
        if not self.unknown_labels:
            return None
        u = self.unknown_labels
        return (
            f"No choice pre-filled: the project's labels {_few(u['unknown'])} are not among the labels of "
            f"{u['model_version']} ({_few(u['model'])}); a model cannot be sure of labels it never learned "
            "(a look-alike spelling is another label). Its uncertainty still orders the tasks."
        )

    def review_line(self) -> str | None:
        """One line on the labels that are probably wrong, as of the last review (None before any)."""
        if not self.review:
            return None
        r = self.review
        return (
            f"Labels to review: {r.get('flagged', 0)} of {r.get('labels', 0)} look wrong at the last retrain "
            f"({r.get('at', '?')}); {r.get('marked', 0)} marked in Label Studio, view 'textal: labels to review'."
        )

    def gave_up_line(self) -> str | None:
        """One line saying the worker gave the project up and what to do, or None while it works on it."""
        if not self.gave_up:
            return None
        g = self.gave_up
        return f"Given up at {g.get('at', '?')}: {g.get('reason', '?')}. {g.get('action') or 'Reconnect the backend'}."


def _few(labels: list[str], shown: int = 5) -> str:
    """At most ``shown`` labels, each cut and spelled out (``ascii``: a look-alike shows as what it is)."""
    head = ", ".join(ascii(str(x))[:40] for x in labels[:shown])
    return head + (f" and {len(labels) - shown} more" if len(labels) > shown else "")


def base_store_of(data_dir: str | Path) -> Path | None:
    """The base store a data folder serves by default (``textal serve --store S`` keeps its data in ``S-backend``)."""
    data = Path(data_dir)
    if not data.name.endswith("-backend"):
        return None
    store = data.with_name(data.name[: -len("-backend")])
    return store if store.is_dir() else None


def _unknown_labels(
    project_labels: list[str], own: ModelStore, latest: str | None, base_store: Path | None
) -> dict[str, Any] | None:
    """The project's labels the serving model (own latest, else the base store's) never learned; None if none."""
    try:
        if latest is not None:
            store, version, name = own, latest, latest
        elif base_store is not None and (base_latest := ModelStore(base_store).latest()) is not None:
            store, version, name = ModelStore(base_store), base_latest, f"base-{base_latest}"
        else:
            return None
        model = [str(x) for x in store.card(version).get("labels") or []]
    except (OSError, ValueError, TextalError):  # an unreadable card: other lines of the status say so
        return None
    known = set(model)
    unknown = [label for label in project_labels if label not in known]
    if not unknown or not model:
        return None
    return {"model_version": name, "unknown": unknown, "model": model}


def project_status(data_dir: str | Path, project_id: int, base_store: str | Path | None = None) -> ProjectStatus:
    """The status of one project of ``data_dir``; TextalError when the folder does not know it.

    ``base_store``: the store ``textal serve --store`` serves before a project has versions of its own
    (default: the one beside a ``<store>-backend`` data folder)."""
    registry = ProjectRegistry(data_dir)
    state = registry.get(project_id)
    if state is None:
        known = ", ".join(map(str, registry.ids())) or "none"
        raise TextalError(f"{data_dir}: no project {project_id} (projects here: {known})")
    files = ProjectFiles(registry, project_id)
    work = files.state()
    tasks = files.mirror().tasks() if files.folder.is_dir() else []
    pool = {
        "tasks": len(tasks),
        "unreadable": sum(t.text is None for t in tasks),
        "labelled": sum(t.labelled for t in tasks),
        "evaluation slice": sum(t.eval for t in tasks),
        "evaluation labelled": sum(t.eval and t.labelled for t in tasks),
        "never trained on": sum(not t.trained for t in tasks),
    }
    records = history.read_records(files.history_path)
    own = ModelStore(files.store_path)
    latest = own.latest()
    base = Path(base_store) if base_store is not None else base_store_of(data_dir)
    return ProjectStatus(
        project_id=int(project_id),
        strategy=state.strategy,
        pool=pool,
        latest=latest,
        pushed=work.get("pushed_version"),
        encoder=str(work.get("encoder") or "default"),
        records=records,
        verdicts=history.verdicts(records),
        pending_eval_marks=len(work.get("eval_to_mark", [])),
        gave_up=work["gave_up"] if isinstance(work.get("gave_up"), dict) else None,
        review=work["review"] if isinstance(work.get("review"), dict) else None,
        annotators=work["annotators"] if isinstance(work.get("annotators"), list) else None,
        unknown_labels=_unknown_labels(list(state.schema.labels), own, latest, base),
    )


def learning_curve(status: ProjectStatus, path: str | Path) -> Path | None:
    """Write the learning-curve PNG; None when no version has held-out figures yet."""
    if not any(r.get("metrics") for r in status.records):
        return None
    return history.plot_history(
        status.records, path, title=f"Project {status.project_id}: evaluation-slice scores per version"
    )
