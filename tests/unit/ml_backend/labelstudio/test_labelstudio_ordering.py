"""What textal sets up in a Label Studio project: its Data Manager views."""

from __future__ import annotations

from ml_backend.labelstudio.ordering import TASK_COLUMNS, view_definitions
from ml_backend.labelstudio.tasks import EVAL_KEY, REVIEW_KEY, SUGGESTION_KEY


def test_the_views_order_unlabelled_tasks_as_the_label_stream_does_and_list_the_slice():
    views = view_definitions()
    informative = views["textal: most informative first"]
    assert informative["ordering"] == ["tasks:predictions_score"]
    filters = {(f["filter"], f["operator"], f["value"]) for f in informative["filters"]["items"]}
    # slice tasks too, where the band puts them; through the annotations, not the counter a prediction import can stale
    assert filters == {("filter:tasks:annotators", "empty", True)}
    assert views["textal: evaluation slice"]["filters"]["items"][0]["filter"] == f"filter:tasks:data.{EVAL_KEY}"


# Label Studio 1.23 heads these columns with an icon and no name
ICON_HEADED = {"tasks:total_annotations", "tasks:cancelled_annotations", "tasks:total_predictions"}


def shown(view: dict) -> dict[str, set[str]]:
    return {mode: set(TASK_COLUMNS) - set(hidden) for mode, hidden in view["hiddenColumns"].items()}


def test_every_column_a_view_shows_is_named_in_its_header():
    for title, view in view_definitions().items():
        for mode, columns in shown(view).items():
            assert "tasks:id" in columns and not columns & ICON_HEADED, (title, mode, columns)


def test_each_view_shows_what_its_reader_needs_and_not_the_other_views_fields():
    views = {title: shown(view)["explore"] for title, view in view_definitions().items()}
    assert views["textal: most informative first"] == {"tasks:id", "tasks:predictions_score", f"tasks:data.{EVAL_KEY}"}
    assert views["textal: evaluation slice"] == {"tasks:id", "tasks:completed_at"}
    assert views["textal: labels to review"] == {
        "tasks:id",
        "tasks:annotators",
        f"tasks:data.{REVIEW_KEY}",
        f"tasks:data.{SUGGESTION_KEY}",
    }
