"""A live project's version history: records on disk, stopping verdicts over them, the learning-curve figure."""

from __future__ import annotations

from textal.history import append_record, plot_history, read_records, verdicts


def record(version, f1, n=40, promoted=True, pred=None, train=10):
    r = {"version": version, "promoted": promoted, "train_size": train, "metrics": {"macro_f1": f1, "accuracy": f1, "n": n}}
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
    by_rule = {v.rule: v for v in verdicts(records)}
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
    verdict = {v.rule: v for v in verdicts(records, window=2)}["stabilising_predictions"]
    assert verdict.figures["kappas"] == [1.0, 1.0] and verdict.stop


def test_the_learning_curve_is_a_png(tmp_path):
    path = plot_history([record("v1", 0.5, train=10), record("v2", 0.4, train=20, promoted=False), record("v3", 0.7, train=30)],
                        tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
