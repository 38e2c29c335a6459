"""Evaluation, fine-tuning, occlusion and the saliency gradient (cnn/teach/evaluation.py, cnn/teach/finetune.py)."""
import numpy as np
import pytest

import cnn
from cnn.files.weights import to_bytes
from cnn.teach.evaluation import cell_indices, confusion, occlusion
from cnn.teach.finetune import FinetuneConfig, finetune


@pytest.fixture(scope="module")
def trained(subset):
    """c8p trained for three epochs on the committed 1,000 training images (under a second; ~80%)."""
    model = cnn.build_model("c8p", seed=0)
    cnn.train(model, subset["x_train"], subset["y_train"], subset["x_test"][:100], subset["y_test"][:100],
              cnn.TrainConfig(epochs=3, n_train=1000, seed=0))
    return model


def test_confusion_matches_a_direct_loop(trained, subset):
    x, y = subset["x_test"][:300], subset["y_test"][:300]
    result = confusion(trained, x, y)
    matrix = np.zeros((10, 10), int)
    for image, label in zip(x, y, strict=True):
        matrix[label, trained.predict(image)[0]] += 1
    np.testing.assert_array_equal(result["matrix"], matrix)
    assert result["n"] == 300 and result["matrix"].sum() == 300
    loss, accuracy = cnn.evaluate(trained, x, y)
    assert result["accuracy"] == pytest.approx(accuracy) == np.trace(matrix) / 300
    assert result["loss"] == pytest.approx(loss, rel=1e-5)
    np.testing.assert_array_equal(result["counts"], np.bincount(y, minlength=10))
    np.testing.assert_allclose(result["per_class"], np.diag(matrix) / np.bincount(y, minlength=10))
    assert result["probabilities"].shape == (300, 10)
    np.testing.assert_allclose(result["probabilities"].sum(1), 1, rtol=1e-5)


def test_confusion_of_an_absent_digit_is_nan_and_bad_labels_are_refused(trained, subset):
    x, y = subset["x_test"][:200], subset["y_test"][:200]
    keep = y != 3
    result = confusion(trained, x[keep], y[keep])
    assert np.isnan(result["per_class"][3]) and result["counts"][3] == 0
    with pytest.raises(ValueError, match="digits 0-9"):
        confusion(trained, x[:2], np.array([1, 10]))
    with pytest.raises(ValueError, match="N>0"):
        confusion(trained, x[:0], y[:0])


def test_cell_indices_lists_one_cell_most_confident_first(trained, subset):
    x, y = subset["x_test"], subset["y_test"]
    result = confusion(trained, x, y)
    true, pred = np.unravel_index(np.argmax(result["matrix"] - np.diag(np.diag(result["matrix"]))), (10, 10))
    idx = cell_indices(result, y, true, pred)
    assert len(idx) == result["matrix"][true, pred] > 0
    assert (y[idx] == true).all() and (result["predictions"][idx] == pred).all()
    confidence = result["probabilities"][idx, pred]
    assert (np.diff(confidence) <= 0).all()


def rotated(subset, n=20):
    """A user who draws in an unusual style: test images turned a quarter turn, with their true labels."""
    return np.rot90(subset["x_test"][:n], 1, axes=(1, 2)).astype(np.float32) / 255, subset["y_test"][:n]


def test_finetune_returns_a_new_model_and_leaves_the_original_unchanged(trained, subset):
    before = to_bytes(trained)
    ux, uy = rotated(subset)
    tuned = finetune(trained, ux, uy, subset["x_train"], subset["y_train"], FinetuneConfig(steps=5))
    assert tuned is not trained and to_bytes(trained) == before
    assert not all(np.array_equal(a, b) for p, q in zip(tuned.params, trained.params, strict=True) for a, b in
                   zip(p.values(), q.values(), strict=True))
    assert tuned.history[-1]["kind"] == "finetune" and len(tuned.history) == len(trained.history) + 1
    assert trained.copy().arch == trained.arch and to_bytes(trained.copy()) == before


def test_finetune_improves_accuracy_on_the_users_drawings(trained, subset):
    ux, uy = rotated(subset)
    x_test, y_test = subset["x_test"][100:1100], subset["y_test"][100:1100]
    tuned = finetune(trained, ux, uy, subset["x_train"], subset["y_train"], x_eval=x_test, y_eval=y_test)
    before, after = (trained.predict(ux) == uy).mean(), (tuned.predict(ux) == uy).mean()
    assert after >= before + 0.3, (before, after)
    # mixing in MNIST keeps most of what the model knew
    assert tuned.history[-1]["test_acc"] >= cnn.evaluate(trained, x_test, y_test)[1] - 0.05


def test_finetune_refuses_no_drawings(trained, subset):
    with pytest.raises(ValueError, match="your drawings"):
        finetune(trained, np.zeros((0, 28, 28)), np.zeros(0, int), subset["x_train"], subset["y_train"])


def test_occlusion_map_is_one_batched_call(trained, subset, monkeypatch):
    image = subset["x_test"][0]
    calls = []
    original = trained.logits
    monkeypatch.setattr(trained, "logits", lambda x: calls.append(len(x)) or original(x))
    heat = occlusion(trained, image, patch=4)
    assert heat.shape == (28, 28) and heat.dtype == np.float32 and np.isfinite(heat).all()
    assert len(calls) == 2 and calls[0] == 1                    # the image, then every occluded copy at once
    assert abs(heat[0, 0]) < 1e-4 * heat.max()                  # covering blank pixels changes nothing
    assert heat.max() > 0


def finite_difference_saliency(model, image, target, eps):
    """d logits[target] / d pixel by central differences, all 2 * 784 perturbed copies in one pass."""
    bumps = np.eye(784).reshape(784, 28, 28) * eps
    logits = model.logits(np.concatenate([image + bumps, image - bumps]))[:, target]    # (1568,)
    return ((logits[:784] - logits[784:]) / (2 * eps)).reshape(28, 28)


@pytest.mark.parametrize("arch", ["c4p", "c4pc4", "d16"])
def test_saliency_matches_finite_differences(arch):
    model = cnn.build_model(arch, seed=1, dtype=np.float64)
    image = np.random.default_rng(2).uniform(0, 1, (28, 28))
    for target in (None, 3):
        grad = cnn.saliency(model, image, target)
        t = int(model.logits(image).argmax()) if target is None else target
        numeric = finite_difference_saliency(model, image, t, 1e-6)
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)


def test_the_saliency_check_can_fail():
    """The same check against another class's score must fail, or it would prove nothing."""
    model = cnn.build_model("c4p", seed=1, dtype=np.float64)
    image = np.random.default_rng(2).uniform(0, 1, (28, 28))
    numeric = finite_difference_saliency(model, image, 4, 1e-6)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(cnn.saliency(model, image, 5), numeric, rtol=1e-4, atol=1e-7)
