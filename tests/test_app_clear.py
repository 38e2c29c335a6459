"""AppTest of the pages' clarity fixes on a shipped two-convolution model (weights/c16pc16.npz): the Inside page
shows a test image's true label, the second layer's filters one at a time, and looks inside a fooled image; the
Draw page reads a test image chosen without a pointer."""
import base64
import json

import numpy as np
import pytest

from helpers import ROOT, inside_view, new_app

SHIPPED = ROOT / "weights"


@pytest.fixture
def shipped(monkeypatch, tmp_path):
    if not (SHIPPED / "c16pc16.npz").exists():
        pytest.skip("weights/c16pc16.npz is not in this checkout")
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(SHIPPED))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.chdir(ROOT)


def inside(index):
    at = new_app(model_key="file:c16pc16")
    at.switch_page("app_pages/inside.py").run()
    next(n for n in at.number_input if n.label.startswith("Test image")).set_value(index).run()
    assert not at.exception
    return at


def filter_chart(at, layer):
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(f"filters_{layer}"))
    z = json.loads(chart.proto.spec)["data"][0]["z"]                  # Plotly's typed array: dtype, base64, shape
    shape = tuple(int(n) for n in z["shape"].split(","))
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)


def test_inside_shows_the_true_label_and_the_second_layers_filters_one_at_a_time(shipped):
    at = inside(0)                                                     # the first test image, a 7
    assert any(m.value.startswith("True label: **7**") for m in at.markdown)
    at = inside_view(at, "Filters")
    assert filter_chart(at, 0).shape == (3, 16 * 4 - 1)                # 16 first-layer filters: one row of 16
    slider = at.slider(key="filter_pick_1")
    assert (slider.min, slider.max, slider.value) == (1, 16, 1)
    first = filter_chart(at, 1)
    assert first.shape == (3, 16 * 4 - 1)                              # filter 1 over the 16 channels before it
    slider.set_value(5).run()
    assert not at.exception and not np.array_equal(filter_chart(at, 1), first)


def test_a_fooled_image_can_be_looked_inside(shipped):
    at = inside_view(inside(0), "Fool the network")
    at.selectbox(key="fool_target").set_value(3).run()
    next(b for b in at.button if b.label == "Fool the network").click().run()
    assert not at.exception
    next(b for b in at.button if b.label == "Look inside the fooled image").click().run()
    assert not at.exception
    assert at.radio(key="inside_source").value == "The image fooled into 3"
    header = next(m for m in at.metric if m.label == "Prediction")    # the header: the fooled image's verdict,
    assert header.value == "3" or "maybe 3" in header.delta              # 3 (or, calibrated, "not sure: maybe 3")


def test_the_draw_page_reads_a_test_image_chosen_without_a_pointer(shipped):
    at = new_app(model_key="file:c16pc16")
    at.radio(key="draw_source").set_value("An MNIST test image").run()
    at.number_input(key="draw_test_index").set_value(1).run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Prediction").value == "2"    # test image #1 is a 2
