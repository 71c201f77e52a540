"""What textal sets up in a Label Studio project: ordering, Data Manager views, the evaluation-slice marks.

- Sampling "Uncertainty sampling": Label Studio 1.23 Community then serves, among unlabelled tasks
  with a prediction of the project's ``model_version``, the least-solved ``cluster`` first and the
  lowest ``score`` within it (with no such prediction it serves at random).
- View "textal: most informative first": unlabelled tasks, prediction score ascending, for people who
  browse: the same order as the label stream (slice tasks where the band interleaves them). View
  "textal: evaluation slice": the slice.
- Evaluation slice (chosen by ``ml_backend.worker.eval_slice``): marked with ``textal_eval: 1`` in
  the task data, all tasks in one Data Manager action.
- View "textal: labels to review": labelled tasks whose label is probably wrong
  (``ml_backend.worker.review`` marks them with ``textal_review``, how likely, and ``textal_suggestion``),
  most suspicious first.
"""

from __future__ import annotations

import logging
from typing import Any

from ml_backend.labelstudio.api import StudioAPI
from ml_backend.labelstudio.client import NOT_ANNOTATED, UNCERTAINTY_SAMPLING
from ml_backend.labelstudio.tasks import EVAL_KEY, REVIEW_KEY, SUGGESTION_KEY

log = logging.getLogger("ml_backend.labelstudio")

INFORMATIVE_VIEW = "textal: most informative first"
EVAL_VIEW = "textal: evaluation slice"
REVIEW_VIEW = "textal: labels to review"
# Label Studio 1.23's task columns (GET /api/dm/columns) and textal's own data fields. A view shows the ones it
# names (and every data field of the user's, such as the text) and hides the rest. Never shown: the columns whose
# header is only an icon (the annotation, cancellation and prediction counts), so that every column a view shows
# is named. (The last column, "{ }" under an empty header, is Label Studio's "View Task Source" button: it adds
# it to every Data Manager table, after the column list, and no view setting hides it.)
TASK_COLUMNS = tuple(
    f"tasks:{name}"
    for name in (
        "id",
        "inner_id",
        "completed_at",
        "total_annotations",
        "cancelled_annotations",
        "total_predictions",
        "annotators",
        "annotations_results",
        "annotations_ids",
        "predictions_score",
        "predictions_model_versions",
        "predictions_results",
        "file_upload",
        "storage_filename",
        "created_at",
        "updated_at",
        "updated_by",
        "avg_lead_time",
        "draft_exists",
        "comment_count",
        "unresolved_comment_count",
        "comment_authors",
        "data.textal_row",
        f"data.{EVAL_KEY}",
        f"data.{REVIEW_KEY}",
        f"data.{SUGGESTION_KEY}",
    )
)
SHOWN_COLUMNS = {  # by view, besides the user's data fields: each one is named in its header
    INFORMATIVE_VIEW: ("tasks:id", "tasks:predictions_score", f"tasks:data.{EVAL_KEY}"),
    EVAL_VIEW: ("tasks:id", "tasks:completed_at"),
    REVIEW_VIEW: ("tasks:id", "tasks:annotators", f"tasks:data.{REVIEW_KEY}", f"tasks:data.{SUGGESTION_KEY}"),
}


def hidden_columns(title: str) -> dict[str, list[str]]:
    """The ``hiddenColumns`` of textal's view ``title``: every known column it does not show, in the table and
    beside the labelling screen."""
    hidden = [c for c in TASK_COLUMNS if c not in SHOWN_COLUMNS[title]]
    return {"explore": hidden, "labeling": list(hidden)}


def view_definitions() -> dict[str, dict[str, Any]]:
    """The Data Manager views textal creates, by title."""
    return {
        INFORMATIVE_VIEW: {
            "title": INFORMATIVE_VIEW,
            "ordering": ["tasks:predictions_score"],
            "hiddenColumns": hidden_columns(INFORMATIVE_VIEW),
            "filters": {
                "conjunction": "and",
                "items": [NOT_ANNOTATED],
            },
        },
        EVAL_VIEW: {
            "title": EVAL_VIEW,
            "ordering": ["tasks:id"],
            "hiddenColumns": hidden_columns(EVAL_VIEW),
            "filters": {
                "conjunction": "and",
                "items": [
                    {"filter": f"filter:tasks:data.{EVAL_KEY}", "operator": "equal", "type": "Number", "value": 1}
                ],
            },
        },
        REVIEW_VIEW: {
            "title": REVIEW_VIEW,
            "ordering": [f"-tasks:data.{REVIEW_KEY}"],
            "hiddenColumns": hidden_columns(REVIEW_VIEW),
            "filters": {
                "conjunction": "and",
                "items": [
                    {"filter": f"filter:tasks:data.{REVIEW_KEY}", "operator": "greater", "type": "Number", "value": 0}
                ],
            },
        },
    }


def ensure_ordering(studio: StudioAPI, project_id: int, sampling: str | None) -> dict[str, int]:
    """Uncertainty sampling and textal's views in the project (idempotent); returns the views' ids by title."""
    if sampling != UNCERTAINTY_SAMPLING:
        studio.set_sampling(project_id, UNCERTAINTY_SAMPLING)
        log.info("project %s: sampling set to %r", project_id, UNCERTAINTY_SAMPLING)
    existing = studio.views(project_id)
    ids = {}
    for title, data in view_definitions().items():
        if title in existing:
            ids[title] = existing[title]
        else:
            ids[title] = studio.create_view(project_id, data)
            log.info("project %s: created view %r", project_id, title)
    return ids


def mark_eval(studio: StudioAPI, project_id: int, ids: list[int]) -> list[int]:
    """Write ``textal_eval: 1`` into the data of tasks ``ids`` in Label Studio, in one request; returns the ids done."""
    studio.set_task_field(project_id, ids, EVAL_KEY, 1)
    return list(ids)
