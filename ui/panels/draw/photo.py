"""The Draw page's photo panel: a photo or scan of a handwritten digit (a file or the camera) -> the steps to
the network's 28x28 input, its guess, why, and "Wrong? It's a …" to store it like a drawing. A fragment of its
own: using it reruns only this panel, and a stroke on the canvas never reruns it."""

import numpy as np
import streamlit as st
from PIL import Image

from cnn.inputs.photo import MAX_BYTES, photo_to_mnist_steps
from ui.charts import basic as charts
from ui.core.text import md_escape
from ui.panels import uncertainty
from ui.panels.draw import corrections
from ui.state import uploads

TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"]
RESULT = "photo_result"          # {"id": the file's id, "steps": photo_to_mnist_steps(...)} of the last photo
SHOWN = 100                      # height in pixels of the photo and its ink as shown (all four in one row)


@st.fragment
def photo_panel(model, model_key):
    """Upload or take a photo of one digit; its preprocessing steps, the guess and its explanation."""
    source = st.segmented_control("Photo from", ["A file", "The camera"], key="photo_source",
                                  help="The camera asks the browser for permission the first time.")
    file = None                                   # no uploader or camera until asked for: the page has one already
    if source == "The camera":
        file = st.camera_input("Photo of one digit", key="photo_camera")
    elif source == "A file":
        file = st.file_uploader("Photo or scan of one digit", type=TYPES, key="photo_upload",
                                help=f"Dark ink on light paper or light on dark; at most {MAX_BYTES // 2**20} MB.")
    uploads.in_use("photo_camera", file if source == "The camera" else None)
    uploads.in_use("photo_upload", file if source == "A file" else None)
    if file is None:
        st.caption("A phone photo, a scan or a screenshot of one handwritten digit: dark on light or light on "
                   "dark, lit unevenly, a little blurred or turned, with margins or ruled lines around it.")
        return
    steps = _steps(file)
    if steps["reason"]:
        st.warning(f"**No digit read from this image.** {md_escape(steps['reason'])}",
                   icon=":material/image_not_supported:")
        if steps["photo"] is not None:
            st.html(charts.figures_html([(_thumb(steps["photo"]), "Your photo, in gray levels", "photo")]))
        return
    x28 = steps["centred"]                                             # (28, 28) in [0, 1]
    show_steps(steps)                                                  # one row across the panel
    if model is None:
        return
    guess_col, why_col = st.columns([2, 3], gap="large")
    with guess_col:                  # the guess and its own "Wrong?", beside each other: it is about the photo
        _, digit = uncertainty.guess(model, x28, label="Prediction for the photo")   # the canvas's verdict
        gray = _thumb(steps["photo"])
        corrections.correction(model_key, steps["centred"], np.dstack([gray] * 3 + [np.full_like(gray, 255)]),
                               what="photo")
    with why_col:
        st.markdown("**Why this guess?**")
        corrections.explain(model, x28, digit, scale=6)


def _steps(file):
    """photo_to_mnist_steps of the file, computed once per file (reruns of the panel reuse it)."""
    kept = st.session_state.get(RESULT)
    if kept and kept["id"] == file.file_id:
        return kept["steps"]
    if file.size > MAX_BYTES:                                          # not even read
        steps = {"photo": None, "reason": f"The file is {file.size / 2**20:.0f} MB; at most "
                 f"{MAX_BYTES // 2**20} MB is read. Send a smaller photo."}
    else:
        steps = photo_to_mnist_steps(file)
    st.session_state[RESULT] = {"id": file.file_id, "steps": steps}
    return steps


def show_steps(steps):
    """The photo, its ink, and the steps to the 28x28 input, in one HTML element."""
    st.markdown("**What the network sees**")
    st.html(charts.figures_html([
        (_thumb(steps["photo"]), "Your photo, in gray levels", "photo"),
        (_thumb(steps["ink"]), "The ink, bright on black: paper and ruled lines removed", "ink"),
        (charts.steps_strip(steps), ("Cropped to the digit (levels kept, thin strokes thickened), longer side "
                                     "scaled to 20 px, centred by mass in 28x28, as for MNIST."), "steps"),
        (charts.upscale(steps["centred"], 4), "The 28x28 input", "input")]))


def _thumb(gray):
    """(h, w) in [0, 1] -> uint8 image SHOWN px high (at most 2.5 times as wide)."""
    image = Image.fromarray(np.uint8(np.clip(gray, 0, 1) * 255))
    image.thumbnail((round(SHOWN * 2.5), SHOWN), Image.BOX)
    return np.asarray(image)
