"""AppTest of the Draw page's photo panel (issue 17): a file or a camera photo -> the steps, the guess, why,
and "Wrong? It's a …" storing it like a drawing; bad files get a message, never a traceback."""
import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from ui.core.store import DrawingStore

APP = os.environ.get("CNN_TEST_APP") or str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


@pytest.fixture
def at(app_env, tmp_path):
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def photo_of_a_seven(fmt="PNG"):
    """A phone-like photo: a dark 7 on gray paper, lit from one side."""
    img = Image.linear_gradient("L").resize((320, 260)).point(lambda v: 150 + v // 3)
    ImageDraw.Draw(img).line([(110, 60), (210, 60), (140, 210)], fill=30, width=12, joint="curve")
    buf = io.BytesIO()
    img.convert("RGB").save(buf, fmt)
    return buf.getvalue()


def html_of(at):
    return "".join(h.proto.body for h in at.html)


def upload(at, name, content, mime):
    at.segmented_control(key="photo_source").set_value("A file").run()
    return at.file_uploader(key="photo_upload").set_value((name, content, mime)).run()


def metric(at, label):
    return next((m for m in at.metric if m.label == label), None)


def test_an_uploaded_photo_is_read_explained_and_stored(at, tmp_path):
    assert not at.exception, at.exception
    assert metric(at, "Prediction for the photo") is None
    assert len(at.file_uploader) == 1 and not at.camera_input       # the model file's: a photo's waits to be asked for
    upload(at, "seven.png", photo_of_a_seven(), "image/png")
    assert not at.exception, at.exception
    assert metric(at, "Prediction for the photo").value in {str(d) for d in range(10)}
    html = html_of(at)
    for name in ("photo", "ink", "steps", "input", "saliency", "occlusion"):
        assert f'data-name="{name}"' in html
    assert 'class="probability-bars"' in html

    at.selectbox(key="photo_label").set_value(7).run()
    at.button(key="save_photo").click().run()
    assert not at.exception, at.exception
    assert any("Saved the photo" in s.value for s in at.success)
    store = DrawingStore(tmp_path / "user-data")
    _, x, y = store.arrays()
    assert list(y) == [7] and x.shape == (1, 28, 28) and x.max() > 0.5
    assert store.get(store.list()[0]["id"])["canvas"].shape[2] == 4        # a small copy of the photo


def test_a_camera_photo_is_read(at):
    at.segmented_control(key="photo_source").set_value("The camera").run()
    assert not at.exception, at.exception
    at.camera_input(key="photo_camera").set_value(("shot.jpg", photo_of_a_seven("JPEG"), "image/jpeg")).run()
    assert not at.exception, at.exception
    assert metric(at, "Prediction for the photo").value == "7"


def png(image):
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def dot():
    img = Image.new("RGB", (300, 200), (230, 230, 225))
    ImageDraw.Draw(img).ellipse([150, 100, 153, 103], fill=(20, 20, 20))
    return img


@pytest.mark.parametrize("name, content, words", [
    ("notes.png", b"this is not an image", "not an image that can be read"),
    ("blank.png", png(Image.new("RGB", (300, 200), (230, 230, 225))), "No digit found"),
    ("dot.png", png(dot()), "too small for a digit"),
    ("ink.png", png(Image.new("RGB", (300, 200), (15, 15, 20))), "No digit found"),
    ("tiny.png", png(Image.new("L", (8, 8), 200)), "too small to read a digit"),
    ("huge.png", png(Image.new("1", (10_000, 5_000))), "10,000 x 5,000 pixels"),
])
def test_a_bad_photo_gets_a_message_and_nothing_is_stored(at, tmp_path, name, content, words):
    upload(at, name, content, "image/png")
    assert not at.exception, at.exception
    assert any(words in w.value for w in at.warning)
    assert metric(at, "Prediction for the photo") is None
    assert not [b for b in at.button if b.key == "save_photo"]              # nothing to store ...
    assert DrawingStore(tmp_path / "user-data").list() == []               # ... and nothing stored


def test_a_photo_save_counts_against_the_visitors_drawings_quota(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_PUBLIC", "1")
    monkeypatch.setenv("CNN_MAX_DRAWINGS", "1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    upload(at, "seven.png", photo_of_a_seven(), "image/png")
    for label in (7, 1):                                             # the second is one over the quota
        at.selectbox(key="photo_label").set_value(label).run()
        at.button(key="save_photo").click().run()
        assert not at.exception, at.exception
    assert any("as many as this app keeps for a visitor" in e.value for e in at.error)
