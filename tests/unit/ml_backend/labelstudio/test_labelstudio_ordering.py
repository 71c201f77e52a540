"""What textal sets up in a Label Studio project: its Data Manager views."""

from __future__ import annotations

from ml_backend.labelstudio.ordering import view_definitions
from ml_backend.labelstudio.tasks import EVAL_KEY


def test_the_views_order_unlabelled_tasks_as_the_label_stream_does_and_list_the_slice():
    views = view_definitions()
    informative = views["textal: most informative first"]
    assert informative["ordering"] == ["tasks:predictions_score"]
    filters = {(f["filter"], f["operator"], f["value"]) for f in informative["filters"]["items"]}
    # slice tasks too, where the band puts them; through the annotations, not the counter a prediction import can stale
    assert filters == {("filter:tasks:annotators", "empty", True)}
    assert views["textal: evaluation slice"]["filters"]["items"][0]["filter"] == f"filter:tasks:data.{EVAL_KEY}"
