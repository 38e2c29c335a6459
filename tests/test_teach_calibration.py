"""Honest uncertainty: temperature scaling recovers a known temperature, the calibration error is computed as
defined, calibrated probabilities equal the softmax of scaled logits, the record survives the weights file,
the non-digit drawings are drawings, and the Draw and Evaluate pages show it all."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import cnn
from cnn.engine.layers import softmax
from cnn.files.mnist import load_subset
from cnn.files.weights import load_model, save_model
from cnn.studies import nondigits
from cnn.teach import calibration
from helpers import APP, TIMEOUT


def sampled(temperature, n=20000, seed=0):
    """Logits, and labels drawn from softmax(logits / temperature): a model whose right temperature is known."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, 10))
    p = softmax(logits / temperature)
    labels = (p.cumsum(1) > rng.uniform(0, 1, (n, 1))).argmax(1)
    return logits, labels


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_temperature_scaling_recovers_a_known_temperature(true_t):
    logits, labels = sampled(true_t)
    t = calibration.fit_temperature(logits, labels)
    assert t == pytest.approx(true_t, rel=0.06)
    best = calibration.nll(logits, labels, t)
    assert best <= calibration.nll(logits, labels, t * 1.05) and best <= calibration.nll(logits, labels, t / 1.05)


def test_the_calibration_error_is_the_weighted_gap_per_bin():
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 1, 0, 0])
    bins, ece = calibration.reliability(probs, labels, n_bins=10)
    # bin 0.9-1.0: confidence 0.935, accuracy 0.5; bin 0.6-0.7: confidence 0.6, accuracy 0.5 (two images)
    assert [(round(b["confidence"], 3), b["accuracy"], b["count"]) for b in bins] == [(0.6, 0.5, 2), (0.935, 0.5, 2)]
    assert ece == pytest.approx(0.5 * 0.1 + 0.5 * 0.435)


def test_calibrated_probabilities_are_the_softmax_of_scaled_logits():
    logits = np.random.default_rng(1).normal(0, 4, (5, 10))
    np.testing.assert_allclose(calibration.calibrated(softmax(logits), 1.7), softmax(logits / 1.7), rtol=1e-9)
    assert calibration.not_sure(np.full(10, 0.1)) and not calibration.not_sure(np.eye(10)[3])


def test_the_record_is_stored_with_the_model_and_read_back(tmp_path):
    x_train, y_train, x_test, y_test = load_subset()
    model = cnn.build_model("c4p", seed=0)
    cnn.train(model, x_train, y_train, x_test[:100], y_test[:100], cnn.TrainConfig(epochs=1, n_train=1000))
    record = calibration.calibrate(model, x_test, y_test)
    assert record["fitted_on"] == 1000
    (x_fit, y_fit), _ = calibration.split(x_test, y_test)
    logits, temp = model.logits(x_fit).astype(np.float64), record["temperature"]
    best = calibration.nll(logits, y_fit, temp)        # the fitted temperature is the best on the images it saw:
    assert best <= calibration.nll(logits, y_fit, 1.0)                       # no worse than none ...
    assert best <= calibration.nll(logits, y_fit, temp * 1.05) and best <= calibration.nll(logits, y_fit, temp / 1.05)
    model.meta["calibration"] = record
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.meta["calibration"] == record                     # the weights file's schema keeps every key
    assert calibration.temperature(loaded) == record["temperature"]
    assert calibration.temperature(cnn.build_model("c4p")) == 1.0     # none stored: the raw softmax


def test_a_fine_tuned_copy_does_not_claim_its_originals_temperature():
    from cnn.teach.finetune import FinetuneConfig, finetune
    x_train, y_train, _, _ = load_subset()
    model = cnn.build_model("c4p", seed=0)
    model.meta["calibration"] = {"temperature": 1.5, "fitted_on": 10, "ece_before": 0.1, "ece_after": 0.05}
    tuned = finetune(model, x_train[:8], y_train[:8], x_train, y_train, FinetuneConfig(steps=2))
    assert calibration.temperature(tuned) == 1.0 and calibration.temperature(model) == 1.5


def test_the_non_digit_drawings_are_canvas_drawings_of_every_kind():
    drawings = list(nondigits.iter_nondigits(1, seed=3))
    assert [name for _, name in drawings] == list(nondigits.TEMPLATES)
    for rgba, name in drawings:
        assert rgba.shape == (280, 280, 4) and rgba.dtype == np.uint8 and (rgba[..., 3] == 255).all()
        assert 0.01 < (rgba[..., 0] > 128).mean() < 0.5, name       # some ink, not a filled canvas
    again = list(nondigits.iter_nondigits(1, seed=3))
    assert all((a == b).all() for (a, _), (b, _) in zip(drawings, again, strict=True))   # reproducible


def test_the_draw_page_says_not_sure_when_no_digit_is_likely():
    def script():
        import cnn
        from cnn.files.mnist import load_subset
        from ui.panels import uncertainty
        seven = load_subset()[2][0] / 255                                # the first test image, a 7
        uncertainty.guess(cnn.build_model("c4p"), seven)                 # untrained: about 10% each
        uncertainty.guess(cnn.load_model("weights/default.npz"), seven)
    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()       # each model's temperature is fitted
    assert not at.exception
    assert [m.value for m in at.metric] == ["not sure", "7"]


def test_the_evaluate_page_shows_a_reliability_diagram(app_env):
    at = AppTest.from_file(APP, default_timeout=2 * TIMEOUT).run()
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Expected calibration error" in labels and "After temperature scaling" in labels
    assert any("reliability" in c.proto.id for c in at.get("plotly_chart"))
