"""Fool the network (cnn/teach/adversarial.py and its tab): the gradient it follows is right (checked against
finite differences), the change stays a valid image, and a trained model is made to answer a chosen digit."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import cnn
from cnn.files.mnist import load_subset
from cnn.teach.adversarial import fool, target_gradient
from helpers import APP, TIMEOUT, inside_view


@pytest.fixture(scope="module")
def trained():
    x_train, y_train, x_test, y_test = load_subset()
    model = cnn.build_model("c8p", seed=0)
    cnn.train(model, x_train, y_train, x_test[:200], y_test[:200], cnn.TrainConfig(epochs=2, n_train=1000, seed=0))
    return model, x_test[:20].astype(np.float32) / 255, y_test[:20]


@pytest.mark.parametrize("arch, activation", [("c4pd8", "relu"), ("c3c3", "none")])
def test_the_gradient_of_the_targets_log_probability_matches_finite_differences(arch, activation):
    model = cnn.build_model(arch, activation=activation, seed=1, dtype=np.float64)
    image = np.random.default_rng(0).uniform(0, 1, (28, 28))
    probs, grad = target_gradient(model, image, 4)
    eps = 1e-6
    for r, c in [(14, 14), (10, 17), (20, 8)]:
        up, down = image.copy(), image.copy()
        up[r, c] += eps
        down[r, c] -= eps
        log_p = [np.log(target_gradient(model, x, 4)[0][4]) for x in (up, down)]
        numeric = (log_p[0] - log_p[1]) / (2 * eps)
        assert grad[r, c] == pytest.approx(numeric, rel=1e-4, abs=1e-8)
    assert probs.sum() == pytest.approx(1)


def test_the_model_answers_the_chosen_digit_after_a_small_valid_change(trained):
    model, images, _ = trained
    for image in images[:5]:
        before = int(model.predict(image[None])[0])
        target = (before + 3) % 10
        result = fool(model, image, target)
        assert result["success"] and int(model.predict(result["image"][None])[0]) == target
        assert result["image"].min() >= 0 and result["image"].max() <= 1
        np.testing.assert_allclose(result["image"] - image, result["delta"], atol=1e-6)
        assert result["l2"] == pytest.approx(float(np.linalg.norm(result["delta"])), rel=1e-5)
        assert result["l2"] < np.linalg.norm(image) / 2                # small beside the image itself


def test_the_work_is_bounded(trained):
    model, images, _ = trained
    result = fool(model, images[0], (int(model.predict(images[:1])[0]) + 1) % 10, step=1e-4, max_steps=5)
    assert result["steps"] == 5 and not result["success"]
    with pytest.raises(ValueError):
        fool(model, images[0], 10)


def test_the_tab_fools_the_network_only_when_asked(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    inside_view(at.switch_page("app_pages/inside.py").run(), "Fool the network")
    assert not any(m.label.startswith("Size of the change") for m in at.metric)      # nothing computed yet
    target = at.selectbox(key="fool_target").value
    at.button(key="fool_go").click().run()
    assert not at.exception
    assert any(f"answers **{target}**" in s.value for s in at.success)
    assert any(m.label.startswith("Size of the change") for m in at.metric)
