"""Trace any number (cnn/teach/trace.py and the Inside page's "Trace a number" tab): every value of every layer,
recomputed from the parts a trace shows, equals the engine's own number, for every kind of architecture."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import cnn
from cnn.engine.layers import Conv3x3, MaxPool2
from cnn.files.mnist import load_subset
from cnn.teach.trace import stages, trace
from helpers import APP, TIMEOUT, inside_view

ARCHS = [("c8p", "relu"), ("c4c4", "relu"), ("pc4", "relu"), ("c4pp", "none"), ("c4pd8", "relu"), ("d16", "none"),
         ("p", "relu"), ("c4pc6pd8", "none")]


@pytest.fixture(scope="module")
def image():
    return load_subset()[2][3].astype(np.float32) / 255


@pytest.mark.parametrize("arch, activation", ARCHS)
def test_every_traced_value_reproduces_the_engines_number(arch, activation, image):
    model = cnn.build_model(arch, activation=activation, seed=3)
    found = stages(model, image)
    for s, stage in enumerate(found[1:], start=1):
        h, w, c = stage.values.shape
        for unit in range(c):
            for row in range(h):
                for col in range(w):
                    t = trace(found, s, unit, row, col)
                    assert t["value"] == stage.values[row, col, unit]
                    assert t["total"] == pytest.approx(t["value"], rel=1e-5, abs=1e-5), (stage.label, unit, row, col)
    logits = model.logits(image[None])[0]
    np.testing.assert_array_equal(found[-1].values.ravel(), logits)          # the output stage is the engine's logits


@pytest.mark.parametrize("arch, activation", ARCHS)
def test_the_feature_maps_shown_are_the_traced_stages(arch, activation, image):
    model = cnn.build_model(arch, activation=activation, seed=3)
    maps = [s for s in stages(model, image) if s.kind in ("conv", "pool")]
    shown = model.feature_maps(image)
    assert [name for name, _ in shown] == [s.label for s in maps]
    for (_, values), stage in zip(shown, maps, strict=True):
        np.testing.assert_array_equal(values[0], stage.values)
        if activation == "relu":
            assert values.min() >= 0                                      # every map after its activation


def test_a_convolution_trace_shows_the_engines_patch_and_kernel(image):
    model = cnn.build_model("c4pc6", seed=1)
    found = stages(model, image)
    s = next(i for i, st in enumerate(found) if st.label.startswith("c6"))
    t = trace(found, s, unit=5, row=2, col=7)
    np.testing.assert_array_equal(t["patch"], found[found[s].source].values[2:5, 7:10, :])
    np.testing.assert_array_equal(t["kernel"], model.layers[2].params["W"][:, :, :, 5])
    assert t["bias"] == model.layers[2].params["b"][5]
    np.testing.assert_allclose(t["products"], t["patch"] * t["kernel"])


def test_a_pooling_trace_names_the_winner(image):
    model = cnn.build_model("c4p", seed=1)
    found = stages(model, image)
    t = trace(found, 2, unit=1, row=6, col=6)
    window = found[1].values[12:14, 12:14, 1]
    assert t["window"][t["winner"]] == window.max() and t["total"] == pytest.approx(t["value"], abs=1e-5)


def test_fused_convolution_and_pooling_equal_the_plain_layers(image):
    """What the math tab says of ConvPool: the same numbers as Conv3x3, ReLU, then MaxPool2."""
    model = cnn.build_model("c8p", seed=2)
    x = model.prepare(image)
    fused = np.maximum(model.layers[0].forward(x)[0], 0)
    plain = MaxPool2().forward(np.maximum(Conv3x3.forward(model.layers[0], x)[0], 0))[0]
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-6)


def test_an_out_of_range_position_is_refused(image):
    found = stages(cnn.build_model("c4p"), image)
    with pytest.raises(IndexError):
        trace(found, 1, unit=4, row=0, col=0)


@pytest.fixture
def inside(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return inside_view(at.switch_page("app_pages/inside.py").run(), "Trace a number")


def test_the_trace_tab_explains_every_layer_of_the_model(inside):
    at = inside
    assert not at.exception
    stage_box = at.selectbox(key="trace_stage")
    for s in stage_box.options:                                      # c8p: convolution, pooling, output
        stage_box.set_value(int(s.split(".")[0])).run()
        assert not at.exception
        latex = " ".join(e.value for e in at.latex)
        assert "the map holds" in latex
    assert any("Softmax" in m.value for m in at.markdown)


def test_the_trace_follows_the_number_inputs(inside):
    at = inside
    at.selectbox(key="trace_stage").set_value(1).run()
    at.number_input(key="trace_unit").set_value(3).run()
    at.number_input(key="trace_row").set_value(20).run()
    at.number_input(key="trace_col").set_value(11).run()
    assert not at.exception
    assert any("channel 3, row 20, column 11" in m.value for m in at.markdown)
    at.selectbox(key="trace_stage").set_value(2).run()            # pooling, 13x13: its strongest value is shown
    assert not at.exception
    row, col, unit = (at.number_input(key=f"trace_{k}").value for k in ("row", "col", "unit"))
    assert row <= 12 and col <= 12
    assert any(f"channel {unit}, row {row}, column {col}" in m.value for m in at.markdown)
