"""A live project's version history: records on disk, stopping verdicts over them, the learning-curve figure."""

from __future__ import annotations

import numpy as np
from matplotlib import image

from textal.store.history import append_record, curve_points, plot_history, read_records, verdicts


def record(version, f1, n=40, promoted=True, pred=None, train=10):
    r = {
        "version": version,
        "promoted": promoted,
        "train_size": train,
        "metrics": {"macro_f1": f1, "accuracy": f1, "n": n},
    }
    if pred is not None:
        r["stop_set"] = {"ids": list(range(len(pred))), "pred": pred}
    return r


def test_records_round_trip_and_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "h" / "history.jsonl"
    append_record(path, record("v0001", 0.5))
    append_record(path, record("v0002", 0.6))
    with open(path, "a") as fh:
        fh.write('{"version": "v0003", "prom')  # a writer killed mid-line
    assert [r["version"] for r in read_records(path)] == ["v0001", "v0002"]
    assert read_records(tmp_path / "missing.jsonl") == []


def test_verdicts_read_only_promoted_versions_with_enough_held_out_labels():
    records = [record(f"v{i:04d}", f1, pred=[0, 1, 1, 0]) for i, f1 in enumerate([0.5, 0.7, 0.8, 0.8, 0.8, 0.8], 1)]
    records.insert(3, record("v0099", 0.1, promoted=False, pred=[1, 0, 0, 1]))
    by_rule = {v.rule: v for v in verdicts(records, min_eval=20, min_train=10)}
    assert by_rule["metric_plateau"].stop  # 0.8 for the last three rounds: no gain
    assert by_rule["stabilising_predictions"].stop and by_rule["stabilising_predictions"].value == 1.0
    few = [record(f"v{i:04d}", 0.5 + i / 10, n=5) for i in range(6)]
    plateau = {v.rule: v for v in verdicts(few, min_eval=20)}["metric_plateau"]
    assert not plateau.stop and plateau.value is None


def test_the_stop_set_is_compared_on_the_items_every_version_predicted():
    records = [
        {"version": "v1", "stop_set": {"ids": [1, 2, 3], "pred": [0, 0, 1]}},
        {"version": "v2", "stop_set": {"ids": [2, 3], "pred": [0, 1]}},  # task 1 was deleted
        {"version": "v3", "stop_set": {"ids": [2, 3, 4], "pred": [0, 1, 1]}},
    ]
    verdict = {v.rule: v for v in verdicts(records, window=2, min_eval=0, min_train=0)}["stabilising_predictions"]
    assert verdict.figures["kappas"] == [1.0, 1.0] and verdict.stop


def test_no_rule_says_stop_before_enough_training_labels_and_slice_labels():
    records = [record(f"v{i:04d}", 0.8, n=30, train=29, pred=[0, 1, 1, 0]) for i in range(6)]
    held_back = {v.rule: v for v in verdicts(records)}  # defaults: 100 training labels, 50 slice labels
    assert not any(v.stop for v in held_back.values())
    assert (
        "not before 100 training labels and 50 labelled evaluation-slice tasks (now 29 and 30)"
        in held_back["stabilising_predictions"].reason
    )
    assert (
        "judged on at least 50 labelled slice tasks (the latest version was judged on 30)"
        in held_back["metric_plateau"].reason
    )
    enough = [record(f"v{i:04d}", 0.8, n=60, train=120, pred=[0, 1, 1, 0]) for i in range(6)]
    assert {v.rule for v in verdicts(enough) if v.stop} == {"metric_plateau", "stabilising_predictions"}


def test_the_base_model_starts_the_curve_as_last_measured_and_never_counts_as_a_version():
    base = {"version": "base-v0001", "base": True, "promoted": True, "train_size": 0}
    records = [
        {**base, "metrics": {"macro_f1": 0.6, "n": 10}},
        record("v0001", 0.5, train=12, promoted=False),
        {**base, "metrics": {"macro_f1": 0.65, "n": 20}},
        record("v0002", 0.7, train=30),
    ]
    assert curve_points(records)["macro_f1"] == [(0, 0.65, True), (12, 0.5, False), (30, 0.7, True)]
    plateau = {v.rule: v for v in verdicts(records, min_eval=0, min_train=0)}["metric_plateau"]
    assert plateau.figures["history"] == [0.7]  # the promoted project version only: no base, no held-back one


def test_the_learning_curve_plots_every_version_with_a_score_including_the_base_model():
    records = [
        record("v1", 0.3, train=0),
        record("v2", 0.4, train=20, promoted=False),
        record("v3", 0.7, train=30),
        {"version": "v4", "promoted": True, "train_size": 40, "metrics": None},
    ]  # no held-out labels yet
    points = curve_points(records)
    assert points["macro_f1"] == [(0, 0.3, True), (20, 0.4, False), (30, 0.7, True)]
    assert points["accuracy"] == points["macro_f1"]


def pixels_of(png, rgb: tuple[int, int, int], tolerance: float = 0.05) -> int:
    """How many pixels of the image are the colour ``rgb`` (0-255)."""
    pixels = image.imread(png)[:, :, :3]
    return int((np.abs(pixels - np.array(rgb) / 255).max(axis=2) < tolerance).sum())


def test_the_learning_curve_png_draws_both_curves_and_rings_the_versions_not_promoted(tmp_path):
    promoted = [record("v1", 0.3, train=0), record("v2", 0.6, train=20), record("v3", 0.7, train=30)]
    for r in promoted:
        r["metrics"]["accuracy"] = r["metrics"]["macro_f1"] + 0.2  # apart, so neither curve hides the other
    held = [*promoted, record("v4", 0.4, train=40, promoted=False)]
    clean, ringed = plot_history(promoted, tmp_path / "clean.png"), plot_history(held, tmp_path / "ringed.png")
    assert image.imread(clean).shape[:2] == (600, 960)  # 8 x 5 inches at 120 dpi
    blue, orange, red = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E), (0xFF, 0x00, 0x00)  # macro-F1, accuracy, not promoted
    assert pixels_of(clean, blue) > 500 and pixels_of(clean, orange) > 500
    assert pixels_of(clean, red, 0.2) == 0 and pixels_of(ringed, red, 0.2) > 50
