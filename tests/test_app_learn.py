"""AppTest tests for evaluating, explaining and learning from the user (issue 5): the Evaluate page, and on the
Draw page the saliency and occlusion maps, "Wrong? It's a …", fine-tuning and model upload.
A drawing is simulated by setting the canvas component's value to a PNG data URL, as the browser sends it."""
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import button, draw, layer_charts, seven
from ui.core.store import DrawingStore

APP = os.environ.get("CNN_TEST_APP") or str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "user-data"
    monkeypatch.setenv("CNN_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def at(app_env, data_dir):
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


# ---------------------------------------------------------------- Evaluate page

def open_evaluate(at):
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Evaluate"
    return at


def test_evaluate_page_shows_accuracy_confusion_and_a_gallery(at):
    open_evaluate(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%") and metrics["Mistakes"].endswith("of 10,000")
    assert {c.key for c in at.get("plotly_chart") if c.key} >= {"confusion_chart", "per_class"}
    true, pred = at.selectbox(key="cell_true").value, at.selectbox(key="cell_pred").value
    assert true != pred                                              # the most frequent mistake by default
    assert any(f"read as a **{pred}**" in c.value for c in at.caption)
    assert len(at.image) >= 1 and sum(b.label == "Inspect" for b in at.button) == len(at.image)   # the gallery
    at.selectbox(key="cell_true").set_value(4).run()
    at.selectbox(key="cell_pred").set_value(4).run()
    assert not at.exception
    assert any("read correctly" in c.value for c in at.caption)


def test_inspect_opens_a_misclassified_image_inside_the_network(at):
    open_evaluate(at)
    button(at, "Inspect").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Inside the network"
    caption = at.session_state["inspect_image"]["caption"]
    assert caption.startswith("MNIST test image #")
    assert at.radio(key="inside_source").value == caption                # the Inside page shows that image
    assert at.metric[0].label == "Prediction"
    at.switch_page("app_pages/inside.py")            # AppTest reruns the page it last switched to, not st.switch_page's
    assert layer_charts(at) == ["maps_0", "maps_1", "filters_0"]
    assert at.radio(key="inside_source").value == caption


def test_evaluate_page_falls_back_to_the_committed_subset(at, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    open_evaluate(at)
    assert any("committed with the app instead" in e.value for e in at.error)
    assert {m.label: m.value for m in at.metric}["Mistakes"].endswith("of 2,000")


def test_evaluate_page_measures_the_users_drawings_and_exports_them(at, data_dir):
    store = DrawingStore(data_dir)
    rng = np.random.default_rng(0)
    for label in (1, 7, 7):
        store.add(rng.uniform(0, 1, (28, 28)), label)
    open_evaluate(at)
    assert not at.info or not any("No drawings stored yet" in i.value for i in at.info)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Drawings stored"] == "3" and metrics["Accuracy on your drawings"].endswith("%")
    assert any(d.label.startswith("Export your drawings") for d in at.get("download_button"))
    button(at, "Delete").click().run()                                # the newest drawing
    assert not at.exception, at.exception
    assert store.count() == 2 and [d["label"] for d in store.list()] == [1, 7]
    assert {m.label: m.value for m in at.metric}["Drawings stored"] == "2"


def test_evaluate_page_without_drawings_explains_how_to_add_them(at):
    open_evaluate(at)
    assert any("No drawings stored yet" in i.value for i in at.info)


# ---------------------------------------------------------------- Draw page: explain, correct, fine-tune, upload

def test_draw_page_explains_the_guess_with_saliency_and_occlusion(at):
    draw(at, seven())
    assert not at.exception, at.exception
    assert at.metric[0].label == "Prediction"
    digit = at.metric[0].value
    assert not at.get("plotly_chart")                               # images and HTML: light for the browser
    chart = next(h.proto.body for h in at.html if "probability-bars" in h.proto.body)
    bars = [float(p) for p in re.findall(r'data-p="([\d.]+)"', chart)]
    assert len(bars) == 10 and abs(sum(bars) - 1) < 1e-3 and max(bars) == bars[int(digit)]
    maps = next(h.proto.body for h in at.html if 'data-name="saliency"' in h.proto.body)
    captions = re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", maps)
    assert [c.split(".")[0] for c in captions] == [f"Saliency for {digit}", f"Occlusion for {digit}"]
    assert all("blue -" in c and "red +" in c for c in captions)                # the colour bar's ends named
    assert len(re.findall(r'<img src="data:image/png;base64,', maps)) == 2


def test_wrong_its_a_stores_the_drawing_with_its_label(at, data_dir):
    draw(at, seven())
    at.selectbox(key="correct_label").set_value(2).run()
    button(at, "Save drawing").click().run()
    assert not at.exception, at.exception
    assert any("Saved drawing #1 as a 2" in s.value for s in at.success)
    store = DrawingStore(data_dir)
    saved = store.get(1)
    assert store.count() == 1 and saved["label"] == 2 and saved["model"] == "file:default"
    assert saved["x"].shape == (28, 28) and saved["canvas"].shape == (140, 140, 4)
    button(at, "Save drawing").click().run()                        # the same drawing twice: stored once
    assert any("already saved" in i.value for i in at.info) and store.count() == 1


def test_save_drawing_with_an_empty_canvas_says_so_and_stores_nothing(at, data_dir):
    at.selectbox(key="correct_label").set_value(3).run()
    button(at, "Save drawing").click().run()
    assert not at.exception, at.exception
    assert any("The canvas is empty" in w.value for w in at.warning)
    assert DrawingStore(data_dir).count() == 0


def test_finetune_then_keep_adds_a_selected_session_model(at, data_dir, app_env):
    shipped = (app_env / "default.npz").read_bytes()
    draw(at, seven())
    at.selectbox(key="correct_label").set_value(2).run()
    button(at, "Save drawing").click().run()
    button(at, "Fine-tune on my 1 drawing").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m for m in at.metric}
    assert {"After fine-tuning", "Your drawings read right", "MNIST test accuracy"} <= set(metrics)
    assert "finetune_pending" in at.session_state
    button(at, "Keep the fine-tuned model").click().run()
    assert not at.exception, at.exception
    assert "default-tuned-1" in at.session_state["session_models"]
    assert at.session_state["model_key"] == "session:default-tuned-1"
    assert (app_env / "default.npz").read_bytes() == shipped        # the shipped model is never changed
    for page in ("app_pages/compare.py", "app_pages/inside.py", "app_pages/evaluate.py"):
        at.switch_page(page).run()                                   # every page takes the new model
        assert not at.exception, (page, at.exception)
    assert at.selectbox(key="model_picker_evaluate").value == "session:default-tuned-1"


def test_finetune_then_discard_keeps_the_model_in_use(at, data_dir):
    DrawingStore(data_dir).add(np.random.default_rng(0).uniform(0, 1, (28, 28)), 4)
    draw(at, seven())
    button(at, "Fine-tune on my 1 drawing").click().run()
    button(at, "Discard").click().run()
    assert not at.exception, at.exception
    assert "finetune_pending" not in at.session_state
    assert not at.session_state["session_models"] and at.session_state["model_key"] == "file:default"


def test_an_uploaded_model_file_becomes_the_model_in_use(at, app_env):
    at.file_uploader(key="upload_model").set_value(("my model.npz", (app_env / "default.npz").read_bytes(),
                                                    "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert "uploaded-my-model" in at.session_state["session_models"]
    assert at.session_state["model_key"] == "session:uploaded-my-model"
    assert any("Loaded my model.npz" in s.value for s in at.success)


def zip_of(**files):
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def pickled_npz():
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([{"arch": "c8p"}], dtype=object))
    return buf.getvalue()


BAD_UPLOADS = {   # file name -> (content, part of the message)
    "empty.npz": (lambda: b"", "is not a weights file"),
    "random.npz": (lambda: np.random.default_rng(0).bytes(5000), "is not a weights file"),
    "notes.txt": (lambda: b"hello", "is not a weights file"),
    "other.npz": (lambda: zip_of(**{"readme.txt": "hi"}), "not a weights file of this project"),
    "pickled.npz": (pickled_npz, "pickled"),
    "huge.npz": (lambda: b"PK\x03\x04" + bytes(50 * 2**20), "weights files are at most 50 MB"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_a_bad_upload_is_refused_and_the_model_stays(at, name):
    make, message = BAD_UPLOADS[name]
    at.file_uploader(key="upload_model").set_value((name, make(), "application/octet-stream")).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("Not loaded" in e and message in e and "has not changed" in e for e in errors), errors
    assert at.session_state["model_key"] == "file:default" and not at.session_state["session_models"]


def test_a_truncated_upload_is_refused(at, app_env):
    data = (app_env / "default.npz").read_bytes()
    at.file_uploader(key="upload_model").set_value(("cut.npz", data[:len(data) // 2], "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    assert any("Not loaded" in e.value for e in at.error)
    assert at.session_state["model_key"] == "file:default"


def test_finetune_without_mnist_mixes_in_the_committed_subset(at, data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))      # an immediate MnistError, no download
    DrawingStore(data_dir).add(np.random.default_rng(0).uniform(0, 1, (28, 28)), 4)
    draw(at, seven())
    button(at, "Fine-tune on my 1 drawing").click().run()
    assert not at.exception, at.exception
    assert any("1,000 committed training images" in w.value for w in at.warning)
    assert "After fine-tuning" in {m.label for m in at.metric}
