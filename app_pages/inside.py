"""Inside the network: every convolution and pooling output for one image, and the learned filters."""
import numpy as np
import streamlit as st

import cnn
from cnn.teach.trace import stages
from ui.charts import basic as charts
from ui.panels import uncertainty
from ui.panels.inside import filters_panel, fool_panel, math_panel, trace_panel, watch_panel
from ui.state import cached, registry, session

MAX_MAPS = 64          # channels drawn per layer; wider layers show their first MAX_MAPS
SOURCE = "inside_source"                                           # this page's image picker
VIEW = "inside_view"                                               # which part of the page is built
VIEWS = ["Feature maps", "Trace a number", "The math", "Fool the network", "Filters", "Watch it learn",
         "A digit at all?"]

st.title("Inside the network")
st.caption("A convolutional network turns the image into stacks of *feature maps*: each 3x3 filter slides "
           "over its input and lights up where it finds its pattern; each pooling layer keeps the strongest "
           "response in every 2x2 block, halving the size.")


def test_images(full):
    """(x_test, y_test): MNIST's 10,000 test images when `full` (else, or when MNIST cannot be read, with a
    warning, the 2,000 committed with the app); stops the page after saying why when neither can be read."""
    try:
        _, _, x_test, y_test, problem = cached.mnist_or_subset() if full else (*cached.subset(), None)
    except cnn.MnistError as e:
        st.error(f"No test images: {e}")
        st.stop()
    if problem:
        st.warning(f"The full MNIST test set is not available: {problem} Showing the committed test images.")
    return x_test, y_test


settings, preview = st.columns([3, 1], gap="large")
with settings:
    model = registry.model_picker("inside")
    drawing, _ = session.drawing()
    picked = session.inspected()                                   # an image handed over by the Evaluate page
    sources = ["Your drawing", "An MNIST test image"] + ([picked["caption"]] if picked else [])
    if session.trace_asked() and drawing is not None:               # the Draw page's live view asks for a trace
        st.session_state[SOURCE], st.session_state[VIEW] = sources[0], VIEWS[1]
    elif picked and picked.get("fresh"):
        st.session_state[SOURCE] = picked["caption"]               # shown once when handed over
        session.mark_inspected()
    elif st.session_state.get(SOURCE) not in sources:
        st.session_state[SOURCE] = sources[0 if drawing is not None else 1]
    source = st.radio("Image", sources, horizontal=True, key=SOURCE)
    image = label = None
    if source == sources[0]:
        if drawing is None:
            st.info("Nothing drawn yet: draw a digit on the **Draw** page, or pick an MNIST test image.")
        image = drawing
    elif picked and source == picked["caption"]:
        image, label = picked["image"], picked["label"]
    else:
        failed = session.mnist_error()                             # do not retry a failed download every run
        full = st.toggle("Use all 10,000 MNIST test images", value=False, disabled=failed is not None,
                         help="Off: the 2,000 test images committed with the app (no download).")
        x_test, y_test = test_images(full or failed is not None)
        index = st.number_input(f"Test image (0 to {len(x_test) - 1})", 0, len(x_test) - 1, 0)
        image, label = x_test[index].astype(np.float32) / 255, int(y_test[index])

if model is None or image is None:
    st.stop()

with preview:                        # side by side: as tall as the choices beside it, no empty band below them
    picture, verdict = st.columns(2, gap="small")
    picture.html(charts.figures_html([(charts.upscale(image, 4), "The 28x28 input", "input")]))   # no extra request
    with verdict:
        _, digit = uncertainty.guess(model, image, bars=False)        # the Draw page's verdict, word for word
        if label is not None:
            st.markdown(f"True label: **{label}**" + (" ✓" if label == digit else " ✗ (a mistake)"))

# Only the part chosen is built (st.tabs would build all six on every run: 4.6-6.3 s to open the page).
st.session_state.setdefault(VIEW, VIEWS[0])
view = st.segmented_control("Show", VIEWS, key=VIEW, required=True, label_visibility="collapsed")
found = stages(model, image) if view in VIEWS[:2] else None           # every layer's output, by the engine
if view == "Feature maps":
    st.caption("Each small image is one channel, scaled to its own range: white is its strongest response.")
    layers = [s for s in found if s.kind in ("conv", "pool")]
    if not layers:
        st.info(f"{model.arch} has no convolution or pooling layer: the image goes straight to dense layers.")
    for i, stage in enumerate(layers):
        h, w, c = stage.values.shape
        kind = "pooling" if stage.kind == "pool" else "convolution"
        st.markdown(f"**Layer {i + 1}: {kind}** `{stage.label}` — {c} maps of {h}x{w}"
                    + (f" (the first {MAX_MAPS} shown)" if c > MAX_MAPS else ""))
        st.html(charts.figures_html([(charts.maps_image(stage.values[:, :, :MAX_MAPS]),
                                      f"{stage.label}: {min(c, MAX_MAPS)} maps, values {stage.values.min():.2f} "
                                      f"to {stage.values.max():.2f}", f"maps_{i}")]))
elif view == "Trace a number":
    trace_panel.panel(found)
elif view == "The math":
    math_panel.panel()
elif view == "Fool the network":
    fool_panel.panel(model, image)
elif view == "Filters":
    filters_panel.panel(model)
elif view == "A digit at all?":
    uncertainty.score_panel(model, image)
else:
    watch_panel.panel()
