"""Helpers shared by several test modules (fixtures are in conftest.py, browser driving in browser_helpers.py):
waiting for a condition, a small weights folder for the app, driving the app's sidebar in AppTest, and the
table of bad weights files that the engine and the app must both refuse; a drawing on the canvas in AppTest; and
checks of a 28x28 network input."""
import base64
import io
import json
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import cnn

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 30          # seconds per AppTest script run: the first run imports plotly and pandas
SUBSET = "Committed subset (1,000 images)"
MNIST = "MNIST (60,000 images)"


def until(condition, seconds):
    """Wait up to `seconds` for condition() to be true; whether it became true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ---------------------------------------------------------------- a weights folder for the app

def mock_experiment():
    """experiment.json in the documented format: two configurations x two seeds per protocol."""
    rng = np.random.default_rng(0)

    def run(arch, seed, epochs, base):
        history = [{"epoch": e, "train_loss": 1 / (e + base), "train_acc": 1 - 0.1 / (e + base),
                    "test_loss": 1.1 / (e + base) + rng.uniform(0, 0.02), "test_acc": 1 - 0.12 / (e + base)
                    - rng.uniform(0, 0.01), "seconds": 1.5 + rng.uniform(0, 0.2)} for e in range(1, epochs + 1)]
        return {"arch": arch, "seed": seed, "params": 1000 + 100 * base, "history": history}

    return {"format": 1, "protocols": {
        "origin": {"description": "1,000 images, one pass, batch 1.",
                   "runs": [run(a, s, 1, b) for a, b in (("c8p", 1), ("c16pc16", 2)) for s in (0, 1)]},
        "full": {"description": "60,000 images, 3 epochs.",
                 "runs": [run(a, s, 3, b) for a, b in (("c8p", 1), ("c16pc16", 2)) for s in (0, 1, 2)]}}}


def make_weights_dir(folder):
    """A weights folder: default.npz (c8p trained briefly on the committed subset) and experiment.json."""
    from cnn.files.mnist import load_subset
    from cnn.files.weights import save_model
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_test, y_test = load_subset()
    model = cnn.build_model("c8p", seed=0)
    cnn.train(model, x_train, y_train, x_test[:200], y_test[:200],
              cnn.TrainConfig(epochs=2, n_train=len(x_train), seed=0))
    save_model(model, folder / "default.npz")
    (folder / "experiment.json").write_text(json.dumps(mock_experiment()))
    return folder


# ---------------------------------------------------------------- the app in AppTest: a session, its sidebar

def new_app(**session):
    """The app's Draw page after its first run, with `session` put into st.session_state first."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def number(at, label):
    return next(n for n in at.sidebar.number_input if n.label == label)


def start_training(at, arch_text="", n_train=300, epochs=1, source=SUBSET):
    sidebar = at.sidebar
    text = next(t for t in sidebar.text_input if t.label.startswith("…or type"))
    text.input(arch_text)
    number = {n.label: n for n in sidebar.number_input}
    number["Training images"].set_value(n_train)
    number["Epochs"].set_value(epochs)
    sidebar.radio[0].set_value(source)
    next(b for b in sidebar.button if b.label == "Start training").click()
    return at.run()


def wait_for_training(at, limit=60):
    """Rerun (as the polling fragment would) until the run has ended; bounded in time."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = at.session_state["job"]
        if job.done:
            return at.run()
        time.sleep(0.2)
        at.run()
    pytest.fail(f"training did not finish within {limit} s")


def save(at, name):
    """Type `name` in the sidebar's "Save as" and press the save button."""
    next(t for t in at.sidebar.text_input if t.label == "Save as").input(name)
    next(b for b in at.sidebar.button if b.label == "Save to weights/").click()
    return at.run()


def with_a_model(**session):
    """The app with one model trained in this session (injected: no training thread needed)."""
    model = cnn.build_model("c2p", seed=7)
    return new_app(session_models={"mine": model}, **session), model


# ---------------------------------------------------------------- bad weights files

def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _weights_with(meta_change=None, array_change=None):
    from cnn.files.weights import model_arrays
    arrays = model_arrays(cnn.build_model("c2p"))
    meta = json.loads(str(arrays["meta"]))
    meta.update(meta_change or {})
    arrays["meta"] = np.array(json.dumps(meta))
    arrays.update(array_change or {})
    return _npz(**arrays)


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not arrays")
    return buf.getvalue()


GOOD_WEIGHTS = _weights_with()
BAD_WEIGHTS = {     # case: (the file's bytes, what the error message says)
    "empty": (b"", "not a weights file"),
    "truncated": (GOOD_WEIGHTS[:len(GOOD_WEIGHTS) // 2], "not a weights file"),
    "random bytes": (np.random.default_rng(0).bytes(5000), "not a weights file"),
    "a zip that is not an npz": (_zip_bytes(), "not a weights file"),
    "pickled objects": (_npz(meta=np.array([{"a": 1}], dtype=object)), "pickled"),
    "no metadata": (_npz(w=np.zeros(3)), "no metadata"),
    "wrong shape": (_weights_with(array_change={"0.W": np.zeros((3, 3, 1, 5), np.float32)}), "has shape"),
    "missing array": (_weights_with(meta_change={"arch": "c2pc2"}), "missing arrays"),
    "unknown architecture": (_weights_with(meta_change={"arch": "q9"}), "cannot build"),
    "unknown format version": (_weights_with(meta_change={"format_version": 99}), "format version 99"),
    "unknown activation": (_weights_with(meta_change={"activation": "tanh"}), "activation must be one of"),
    "NaN weights": (_weights_with(array_change={"0.b": np.full(2, np.nan, np.float32)}), "NaN"),
    "infinite weights": (_weights_with(array_change={"0.b": np.full(2, np.inf, np.float32)}), "NaN or infinite"),
    "integer weights": (_weights_with(array_change={"0.b": np.zeros(2, np.int64)}), "floating point"),
}


def inside_view(at, name):
    """Show one part of the Inside page ("Feature maps", "Trace a number", ...): the page builds only that one."""
    return at.segmented_control(key="inside_view").set_value(name).run()


def layer_charts(at):
    """Names of the Inside page's feature-map images (maps_<i>) and filter charts (filters_<i>), in order; shows
    the Filters and then the Feature maps again to find both."""
    maps = [m for h in inside_view(at, "Feature maps").get("html") for m in re.findall(r'data-name="(maps_\d+)"',
                                                                                        h.proto.body)]
    keys = [c.proto.id.rsplit("-", 1)[-1] for c in inside_view(at, "Filters").get("plotly_chart")]
    inside_view(at, "Feature maps")
    return maps + [k for k in keys if k.startswith("filters_")]


# ---------------------------------------------------------------- the canvas in AppTest

def seven():
    """A 280x280 RGBA canvas with a 7 in white strokes on black."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(img)
    pen.line([(75, 50), (205, 50), (115, 240)], fill=(255, 255, 255, 255), width=18, joint="curve")
    return np.asarray(img)


def draw(at, rgba):
    """Put a drawing on the canvas, as the browser does on mouse-up, and rerun."""
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    at.session_state["canvas"] = {"drawing": {"raw": {"objects": []}, "data": url}, "backgroundFit": None}
    return at.run()


def button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


# ---------------------------------------------------------------- a 28x28 network input (canvas and photo paths)

def assert_mnist_like(x):
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1 and x.max() > 0


def centre_of_mass(x):
    ys, xs = np.mgrid[:28, :28]
    return (x * ys).sum() / x.sum(), (x * xs).sum() / x.sum()


def ink_box_side(x, level=0.0):
    rows, cols = np.flatnonzero((x > level).any(1)), np.flatnonzero((x > level).any(0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
