"""Not a digit: the shipped detector flags kinds it never saw and few real digits, the plain checks (no ink, a
dot, a blot, two digits side by side) say what is wrong, its threshold is bounded in the weights file's schema,
every page shows the same verdict, a model that arrives without a temperature gets one, and nothing a visitor
draws that is not strokes is stored."""
import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

import cnn
from cnn.files.metadata import check
from cnn.inputs.canvas import canvas_to_mnist, canvas_to_mnist_steps
from cnn.studies.doodles import canvas_inputs, photo_inputs
from cnn.studies.notdigit_study import HELD_OUT, canvas_digits, optdigits
from cnn.teach import notdigit
from helpers import APP, TIMEOUT, draw, seven


def test_the_shipped_detector_flags_kinds_it_never_saw():
    """Fast version of python -m cnn notdigit --measure: 15 drawings and 6 photos of each kind the shipped
    detector never saw, beside the plain baseline on the same drawings (the default model's 95% "not sure").
    The issue's goal is 90%; the README reports how far it is met, kind by kind."""
    from cnn.teach import calibration
    model = cnn.load_model("weights/default.npz")
    drawings = {k: canvas_inputs(k, 15, seed=5) for k in HELD_OUT}
    rates = {k: notdigit.not_a_digit(model, x).mean() for k, x in drawings.items()}
    unsure = np.concatenate([calibration.calibrated(model.predict_proba(x), calibration.temperature(model))
                             .max(axis=1) < calibration.NOT_SURE_BELOW for x in drawings.values()])
    assert np.mean(list(rates.values())) >= 0.6, rates
    assert np.mean(list(rates.values())) >= unsure.mean() + 0.15
    assert sum(r >= 0.9 for r in rates.values()) >= len(rates) // 2, rates
    photos = np.concatenate([photo_inputs(k, 6, seed=5) for k in HELD_OUT])
    assert notdigit.not_a_digit(model, photos).mean() >= 0.6


@pytest.fixture(scope="module")
def real_test():
    """MNIST's test images from MNIST_DIR or the cache, else the 2,000 committed with the app."""
    try:
        return cnn.load_mnist(mirrors=[])[2:]
    except cnn.MnistError:
        from cnn.files.mnist import load_subset
        return load_subset()[2:]


def test_few_real_digits_are_flagged(real_test):
    x_test, _ = real_test
    assert notdigit.not_a_digit(None, x_test[:1500]).mean() <= 0.02
    assert notdigit.not_a_digit(None, canvas_digits(20, seed=7)).mean() <= 0.03
    assert notdigit.not_a_digit(None, optdigits(600)[0]).mean() <= 0.05         # outside MNIST: UCI, 43 writers


def canvas(*strokes, width=18, fill=False):
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(img)
    for s in strokes:
        pen.line(s, fill=(255, 255, 255, 255), width=width, joint="curve")
    if fill:
        pen.rectangle([0, 0, 279, 279], fill=(255, 255, 255, 255))
    return np.asarray(img)


DOT = canvas([(140, 140), (141, 141)])
ALL_INK = canvas(fill=True)
ONE_TWO = canvas([(40, 60), (40, 220)], [(120, 80), (160, 50), (200, 80), (120, 220), (220, 220)])


@pytest.mark.parametrize("rgba, words", [(DOT, "a dot"), (ALL_INK, "nearly all ink")])
def test_a_dot_and_an_all_ink_canvas_say_why(rgba, words):
    steps = canvas_to_mnist_steps(rgba)                   # a dot, thinned and scaled to 20 px, is a small ring
    assert words in notdigit.ink_problem(steps["centred"], steps["cropped"], 280)
    assert words in notdigit.canvas_problem(rgba)
    assert notdigit.not_a_digit(None, canvas_to_mnist(ALL_INK))[0]
    assert notdigit.ink_problem(canvas_to_mnist(seven()), canvas_to_mnist_steps(seven())["cropped"], 280) is None
    assert notdigit.not_a_digit(None, np.zeros((28, 28)))[0]               # no ink at all


def test_two_digits_side_by_side_are_told_apart_from_one_digit(real_test):
    assert notdigit.two_digits(canvas_to_mnist(ONE_TWO))[0]
    assert notdigit.two_digits(canvas_inputs("two digits", 30, seed=5)).mean() >= 0.8
    assert notdigit.two_digits(real_test[0][:1000]).mean() <= 0.01        # a 5's bar or a broken 4 is one digit


def test_bad_input_is_refused():
    assert cnn.not_a_digit is notdigit.not_a_digit                        # the one decision, exported from cnn
    with pytest.raises(ValueError, match="28x28"):
        notdigit.not_a_digit(None, np.zeros((3, 20, 20)))


def test_the_threshold_is_bounded_in_the_weights_files_schema():
    base = {"format_version": 1, "arch": "c8p", "activation": "relu"}
    assert check({**base, "outlier": {"threshold": 2.5, "digits_validated": 11000}})["outlier"]["threshold"] == 2.5
    for bad in (float("nan"), 1e6, "high"):
        with pytest.raises(ValueError, match="outlier.threshold"):
            check({**base, "outlier": {"threshold": bad}})


def test_the_score_chart_shows_digits_non_digits_the_threshold_and_the_input():
    from ui.charts.teach import outlier_figure
    rng = np.random.default_rng(0)
    fig = outlier_figure(50.0, rng.normal(-5, 1, 500), rng.normal(5, 2, 300), 0.7)
    assert [t.type for t in fig.data] == ["histogram", "histogram"]
    lines = sorted(s.x0 for s in fig.layout.shapes)
    assert lines[0] == 0.7 and lines[1] == fig.layout.xaxis.range[1] < 50      # far out: drawn at the edge


# ---------------------------------------------------------------- the pages (AppTest)

@pytest.fixture
def at(app_env):
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def letter_a():
    return canvas([(60, 240), (140, 40), (220, 240)], [(95, 160), (185, 160)])


def test_draw_and_inside_say_the_same_for_a_letter(at):
    draw(at, letter_a())
    assert not at.exception
    metric = at.metric[0]
    assert metric.label == "Prediction" and metric.value == "not a digit"
    assert metric.proto.delta.startswith("That doesn't look like a digit. Best guess")
    assert not any("probability-bars" in h.proto.body for h in at.html)       # no bars: the guess is kept small
    at.switch_page("app_pages/inside.py").run()
    assert not at.exception
    assert at.metric[0].value == "not a digit"                                   # the same verdict, not "4 · 99%"


def test_two_digits_ask_for_one_digit_at_a_time(at):
    draw(at, ONE_TWO)
    assert at.metric[0].value == "one digit at a time"


@pytest.mark.parametrize("rgba, words", [(DOT, "a dot"), (ALL_INK, "nearly all ink")])
def test_a_dot_or_a_blot_gets_a_message_and_is_not_stored(at, rgba, words):
    draw(at, rgba)
    assert not at.exception and not at.metric
    assert any(words in w.value for w in at.warning)
    at.selectbox(key="correct_label").set_value(3).run()
    at.button(key="save_drawing").click().run()
    assert any("Not saved" in w.value for w in at.warning)
    assert not any("Saved drawing" in s.value for s in at.success)


def test_an_uploaded_model_without_a_temperature_gets_one(at, app_env):
    assert "calibration" not in cnn.load_model(app_env / "default.npz").meta     # the fixture model has none
    at.file_uploader(key="upload_model").set_value(("bare.npz", (app_env / "default.npz").read_bytes(),
                                                    "application/octet-stream")).run()
    record = at.session_state["session_models"]["uploaded-bare"].meta["calibration"]
    assert record["fitted_on"] in (1000, 5000) and 0.05 <= record["temperature"] <= 20   # on held-out test images
