"""The live view of the whole network (Draw page): the picture's numbers are the engine's forward pass, a unit's
receptive field is the one brute force finds, the kernel player carries the engine's numbers, and the page
follows a unit and hands it to the trace on Inside the network."""
import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import cnn
from cnn.files.mnist import load_subset
from cnn.files.weights import load_model
from cnn.teach.receptive import field
from cnn.teach.trace import stages, trace
from helpers import APP, ROOT, TIMEOUT, draw, seven
from ui.charts import kernel_player, network_view

ARCHS = ["c8p", "c16pc16", "c4pc8pd32", "default"]


def model_for(arch):
    if arch == "default":
        path = ROOT / "weights" / "default.npz"
        return load_model(path) if path.exists() else cnn.build_model("c32pc64pd128", seed=3)
    return cnn.build_model(arch, seed=1)


@pytest.fixture(scope="module")
def image():
    return load_subset()[2][0].astype(np.float32) / 255          # the first committed test image


def figures(html):
    """{stage index: (data-min, data-max, palette indices of its image)} of a network_view picture."""
    found = {}
    for m in re.finditer(r'data-stage="(\d+)" data-min="([^"]+)" data-max="([^"]+)"[^>]*>.*?<img src="data:image/png;'
                         r'base64,([^"]+)"', html):
        png = Image.open(io.BytesIO(base64.b64decode(m.group(4))))
        assert png.mode == "P"
        found[int(m.group(1))] = (float(m.group(2)), float(m.group(3)), np.asarray(png))
    return found


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("per_map", [True, False])
def test_the_picture_draws_the_engines_forward_pass(arch, per_map, image):
    model = model_for(arch)
    found = stages(model, image)
    probs = model.predict_proba(image[None])[0]
    html = network_view.network_html(found, probs, per_map)
    drawn = figures(html)
    engine = [v[0] for _, v in model.feature_maps(image[None])]         # every conv and pool output, (H, W, C)
    spatial = [i for i, s in enumerate(found) if s.kind in ("conv", "pool")]
    assert len(spatial) == len(engine)
    for i, maps in zip(spatial, engine, strict=True):
        lo, hi, pixels = drawn[i]
        assert lo == pytest.approx(maps.min(), rel=1e-5, abs=1e-6) and hi == pytest.approx(maps.max(), rel=1e-5,
                                                                                          abs=1e-6)
        expected = network_view.levels(maps, per_map, network_view.grid_columns(maps.shape[2]))
        assert np.abs(pixels.astype(int) - expected).max() <= 1                 # float32 rounding at a level's edge
        assert (pixels == expected).mean() > 0.999
    np.testing.assert_array_equal(drawn[0][2], network_view.levels(image[:, :, None], False, 1))
    logits = model.logits(image[None])[0]
    shown = [(int(d), float(z), float(p)) for d, z, p in
             re.findall(r'data-digit="(\d)" data-logit="([^"]+)" data-p="([^"]+)"', html)]
    assert [d for d, _, _ in shown] == list(range(10))
    np.testing.assert_allclose([z for _, z, _ in shown], logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose([p for _, _, p in shown], probs, atol=2e-6)
    assert f"reads {int(probs.argmax())} with probability" in html


def changed_by_each_pixel(model, deltas):
    """{feature map index: (784, H, W, C) bool}: which units change when each input pixel alone moves by a delta."""
    base = np.zeros((1, 28, 28), np.float32)
    maps0 = [m[0] for _, m in model.feature_maps(base)]
    changed = [np.zeros((784, *m.shape), bool) for m in maps0]
    for delta in deltas:
        batch = np.repeat(base, 784, axis=0)
        batch.reshape(784, -1)[np.arange(784), np.arange(784)] = delta       # pixel p of image p
        for k, (_, m) in enumerate(model.feature_maps(batch)):
            changed[k] |= np.abs(m - maps0[k]) > 1e-9
    return changed


@pytest.mark.parametrize("arch, positive", [("c8p", True), ("c16pc16", True), ("c4pc8pd32", True), ("c8p", False),
                                            ("c4pc8pd32", False)])
def test_a_receptive_field_is_what_brute_force_finds(arch, positive):
    """Perturb each input pixel of a blank image and see which units change. With every weight made positive and
    every bias zero, a pixel raised raises every unit on every path from it, and wins every pool it reaches (the
    rest of each window is still zero): the units changed are exactly those whose field holds the pixel. With the
    random weights of either sign a unit may not respond, but never to a pixel outside its field."""
    model = cnn.build_model(arch, seed=2, dtype="float64")
    if positive:
        for layer in model.layers:
            for name, value in layer.params.items():
                value[...] = np.abs(value) if name == "W" else 0
    found = stages(model, np.zeros((28, 28), np.float32))
    changed = changed_by_each_pixel(model, [1.0] if positive else [1.0, -30.0])
    spatial = [i for i, s in enumerate(found) if s.kind in ("conv", "pool")]
    for k, s in enumerate(spatial):
        h, w, c = found[s].values.shape
        for row, col, unit in {(0, 0, 0), (h - 1, w - 1, c - 1), (h // 2, w // 3, c // 2)}:
            box = field(found, s, unit, row, col)[0]
            expected = np.zeros((28, 28), bool)
            expected[box.rows[0]:box.rows[1], box.cols[0]:box.cols[1]] = True
            by_force = changed[k][:, row, col, unit].reshape(28, 28)
            assert not (by_force & ~expected).any(), (arch, s, row, col, unit)
            if positive:
                np.testing.assert_array_equal(by_force, expected, err_msg=f"{arch} stage {s}")


def test_a_receptive_field_walks_back_through_every_stage():
    found = stages(cnn.build_model("c8pc16p"), np.zeros((28, 28), np.float32))   # 26, 13, 11, 5
    boxes = field(found, 4, 3, 1, 2)                                             # pool 5x5x16, channel 3
    assert boxes[4].channels == (3,) and boxes[3].channels == (3,)               # pooling keeps the channel
    assert (boxes[3].rows, boxes[3].cols) == ((2, 4), (4, 6))
    assert (boxes[2].rows, boxes[2].cols, boxes[2].channels) == ((2, 6), (4, 8), ())   # a convolution reads all
    assert (boxes[1].rows, boxes[1].cols) == ((4, 12), (8, 16))
    assert (boxes[0].rows, boxes[0].cols) == ((4, 14), (8, 18))
    dense = field(stages(cnn.build_model("c4pd8"), np.zeros((28, 28), np.float32)), 3, 5)
    assert dense[0].rows == (0, 28) and dense[2].channels == ()


def test_the_kernel_player_carries_the_engines_numbers(image):
    model = model_for("c16pc16")
    found = stages(model, image)
    s = [i for i, f in enumerate(found) if f.kind == "conv"][1]                  # the second convolution
    stage, source = found[s], found[found[s].source].values
    from cnn.engine.layers import Conv3x3
    z = Conv3x3.forward(stage.layer, source[None])[0][0, :, :, 5]
    html = kernel_player.player_html(stage.label, source[:, :, 2], stage.layer.params["W"][:, :, 2, 5], z,
                                     stage.values[:, :, 5], 2, float(stage.layer.params["b"][5]), stage.relu,
                                     source.shape[2], "p")
    data = __import__("json").loads(re.search(r'class="kp-data">(.*?)</script>', html).group(1))
    for row, col in [(0, 0), (4, 7), (10, 10)]:
        t = trace(found, s, 5, row, col)
        assert data["z"][row][col] == pytest.approx(t["pre_activation"], abs=1e-4)
        assert data["out"][row][col] == pytest.approx(t["value"], abs=1e-6)
    assert "<tr" not in html.split("<script>")[-1]          # the page's sanitiser would drop the whole script


def test_the_draw_page_follows_a_unit_and_hands_it_to_the_trace(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.toggle(key="live_view").set_value(True).run()
    assert any("appears here once you draw" in c.value for c in at.caption)
    draw(at, seven())
    assert not at.exception
    assert any("live-view" in h.proto.body for h in at.get("html"))
    at.selectbox(key="live_view_stage").set_value(2).run()          # c8p: the pooling layer, 13x13x8
    at.number_input(key="live_view_unit").set_value(3).run()
    at.number_input(key="live_view_row").set_value(4).run()
    at.number_input(key="live_view_col").set_value(6).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "channel 3, row 4, column 6" in text and "input: rows 8-11, columns 12-15" in text
    body = next(h.proto.body for h in at.get("html") if "live-view" in h.proto.body)
    assert body.count('class="rf"') == 1 + 1 + 1                    # the unit, its 2x2 window, the input patch
    at.toggle(key="live_view_play").set_value(True).run()
    assert not at.exception and any("kernel-player" in h.proto.body for h in at.get("html"))
    next(b for b in at.button if b.label.startswith("Trace its arithmetic")).click().run()
    at.switch_page("app_pages/inside.py").run()                     # AppTest does not follow st.switch_page
    assert not at.exception
    assert at.selectbox(key="trace_stage").value == 2
    assert any("channel 3, row 4, column 6" in m.value for m in at.markdown)
