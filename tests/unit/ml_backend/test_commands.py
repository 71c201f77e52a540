"""`textal status`, `textal retrain` and `textal worker` argument checks, over a data folder on disk."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from ml_backend.state.projects import ProjectRef, ProjectRegistry
from ml_backend.state.workfiles import ProjectFiles
from textal.store.history import append_record

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


@pytest.fixture
def data(tmp_path):
    """A data folder with project 7 set up, a mirrored pool and three versions in its history."""
    folder = tmp_path / "data"
    registry = ProjectRegistry(folder)
    registry.setup(ProjectRef(7, 1717000000), CONFIG, hostname="http://127.0.0.1:9", access_token="t" * 40)
    files = ProjectFiles(registry, 7)
    mirror = files.mirror()
    mirror.add(
        [{"id": i, "data": {"text": f"message {chr(97 + i)}"}} for i in range(20)], parse_label_config(CONFIG), 1000
    )
    mirror.set_eval([0, 1, 2])
    mirror.set_labelled([0, 1, 5, 6, 7])
    for i, (f1, promoted) in enumerate([(0.6, True), (0.8, True), (0.5, False)], 1):
        append_record(
            files.history_path,
            {
                "version": f"v{i:04d}",
                "promoted": promoted,
                "train_size": 2 + i,
                "reason": "ANNOTATION_CREATED",
                "metrics": {"macro_f1": f1, "accuracy": f1, "n": 2},
                "label_counts": {"ham": 2, "spam": i},
                "agreement": {"multi_annotated": 1, "alpha": 0.5, "flagged": 1},
                "seconds": 1.5,
                "uncertainty": {
                    "overall_uncertainty": {
                        "rule": "overall_uncertainty",
                        "stop": False,
                        "value": 0.4,
                        "threshold": 0.1,
                        "reason": "mean entropy is 0.4000, not below 0.1",
                    }
                },
            },
        )
    files.update_state(pushed_version="v0002")
    return folder


def test_status_reports_pool_labels_agreement_versions_verdicts_and_writes_the_learning_curve(
    data, tmp_path, textal_cli
):
    png = tmp_path / "curve.png"
    code, out, err = textal_cli(["status", "--project", "7", "--data-dir", str(data), "--out", str(png)])
    assert code == 0, err
    assert "tasks 20" in out and "labelled 5" in out and "evaluation slice 3" in out and "evaluation labelled 2" in out
    assert "Label Studio ordering by v0002" in out
    assert "Training labels (as of v0003): 5 (ham 2, spam 3)" in out
    assert "Krippendorff's alpha 0.500, 1 flagged" in out
    for version in ("v0001", "v0002", "v0003"):
        assert version in out
    assert "metric_plateau" in out and "overall_uncertainty" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_status_of_an_unknown_project_exits_2_naming_the_known_ones(data, textal_cli):
    code, _, err = textal_cli(["status", "--project", "8", "--data-dir", str(data)])
    assert code == 2 and "no project 8" in err and "projects here: 7" in err


def test_retrain_queues_one_coalesced_job_and_full_asks_for_a_fine_tune(data, textal_cli):
    for _ in range(3):
        code, out, _ = textal_cli(["retrain", "--project", "7", "--data-dir", str(data)])
        assert code == 0 and "Queued a retrain of project 7" in out
    code, out, _ = textal_cli(["retrain", "--project", "7", "--data-dir", str(data), "--full"])
    assert code == 0 and "full fine-tune" in out
    jobs = Jobs(make_huey(data), data).pending()
    assert sorted(j["name"] for j in jobs) == ["finetune", "retrain"]


def test_worker_refuses_bad_settings_with_one_line(data, textal_cli):
    code, _, err = textal_cli(["worker", "--data-dir", str(data), "--eval-fraction", "0.7"])
    assert code == 2 and "--eval-fraction" in err
    code, _, err = textal_cli(["worker", "--data-dir", str(data), "--strategy", "nonsense"])
    assert code == 2 and "nonsense" in err
