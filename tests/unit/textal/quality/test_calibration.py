"""Temperature scaling: recovers a known miscalibration, lowers ECE, lands in the model card."""

from __future__ import annotations

import numpy as np
import pytest

from textal.models.linear import LinearClassifier
from textal.quality.calibration import (
    CalibrationError,
    TemperatureScaler,
    apply_temperature,
    calibrate,
    encode_held_out_labels,
    expected_calibration_error,
    write_to_card,
)
from textal.store.model_store import ModelStore


def calibrated_sample(n: int = 4000, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from those very probabilities: calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, k)) * 2
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > p.cumsum(axis=1)).sum(axis=1)
    return p, y


@pytest.mark.parametrize("true_t", [0.4, 2.5])
def test_temperature_scaling_recovers_a_known_distortion(true_t):
    p, y = calibrated_sample()
    distorted = apply_temperature(p, true_t)  # over-confident (0.4) or under-confident (2.5)
    scaler, report = calibrate(distorted, y)
    assert np.isclose(scaler.temperature_, 1 / true_t, rtol=0.15)
    assert report.ece_after < report.ece_before
    assert report.nll_after < report.nll_before


def test_ece_is_near_zero_for_calibrated_probabilities_and_large_for_distorted_ones():
    p, y = calibrated_sample()
    assert expected_calibration_error(p, y) < 0.03
    assert expected_calibration_error(apply_temperature(p, 0.3), y) > 0.1


def test_scaling_never_changes_the_predicted_class():
    p, y = calibrated_sample(500)
    scaler = TemperatureScaler().fit(apply_temperature(p, 0.5), y)
    np.testing.assert_array_equal(scaler.transform(p).argmax(axis=1), p.argmax(axis=1))
    np.testing.assert_allclose(scaler.transform(p).sum(axis=1), 1.0)


def test_multi_label_shares_one_temperature_or_fits_one_per_label():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.98, (3000, 3))
    y = (rng.random((3000, 3)) < p).astype(int)
    distorted = p.copy()
    distorted[:, :2] = apply_temperature(p[:, :2], 0.5, multi_label=True)
    distorted[:, 2] = apply_temperature(p[:, [2]], 2.0, multi_label=True)[:, 0]
    shared, report = calibrate(distorted, y, multi_label=True)
    assert np.ndim(shared.temperature_) == 0 and report.ece_after < report.ece_before
    per_label, per_report = calibrate(distorted, y, multi_label=True, per_label=True)
    np.testing.assert_allclose(per_label.temperature_, [2.0, 2.0, 0.5], rtol=0.2)
    assert per_report.ece_after <= report.ece_after + 1e-9
    assert isinstance(per_report.temperature, list)


def test_bad_held_out_data_is_a_clear_error():
    p, y = calibrated_sample(10)
    with pytest.raises(CalibrationError, match="empty"):
        calibrate(p[:0], y[:0])
    with pytest.raises(CalibrationError, match="class indices"):
        calibrate(p, y[:5])
    with pytest.raises(CalibrationError, match="sum to 1"):
        calibrate(p * 0.5, y)
    with pytest.raises(CalibrationError, match=r"lie in \[0, 3\]"):
        calibrate(p, y + 10)
    with pytest.raises(CalibrationError, match="encode_held_out_labels"):
        calibrate(p, np.array(["a"] * 10))
    with pytest.raises(CalibrationError, match="per_label"):
        TemperatureScaler(per_label=True).fit(p, y)
    with pytest.raises(CalibrationError, match="not fitted"):
        TemperatureScaler().transform(p)


def test_string_labels_are_encoded_against_the_model_labels():
    np.testing.assert_array_equal(encode_held_out_labels(["b", "a", "b"], ["a", "b"]), [1, 0, 1])
    np.testing.assert_array_equal(
        encode_held_out_labels([("a",), ("a", "b")], ["a", "b"], multi_label=True), [[1, 0], [1, 1]]
    )
    with pytest.raises(CalibrationError, match="'c'"):
        encode_held_out_labels(["c"], ["a", "b"])


def test_the_report_is_written_into_the_model_card(tmp_path):
    texts = ["win cash now", "free prize claim", "see you at lunch", "call me later"] * 5
    labels = ["spam", "spam", "ham", "ham"] * 5
    model = LinearClassifier().fit(texts, labels)
    store = ModelStore(tmp_path / "store")
    version = store.publish(model, {"strategy": "entropy.v1"})
    proba = model.predict_proba(texts)
    _, report = calibrate(proba, encode_held_out_labels(labels, model.labels_))
    write_to_card(store, version, report)
    card = store.card(version)
    assert card["calibration"]["ece_before"] == report.ece_before
    assert card["calibration"]["temperature"] == report.temperature
    assert card["strategy"] == "entropy.v1"
