"""Draw: a digit on the canvas (or a photo of one), the network's guess after every stroke, why it guessed so,
and teaching it."""
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from cnn.inputs.canvas import canvas_to_mnist_steps
from cnn.teach import notdigit
from ui.charts import basic as charts
from ui.core.canvas_input import CanvasError, canvas_rgba
from ui.core.text import md_escape
from ui.panels import uncertainty
from ui.panels.draw import canvas_frame, corrections, keyboard, live_view, photo
from ui.state import registry, session

SIDE = 280      # the canvas, in CSS pixels

# A stroke reruns the panel below, usually within a fraction of a second. When a rerun is slow (a loaded
# server), Streamlit fades the "stale" elements over one second meanwhile: here that only flickered, and the
# fade's animation frames cost the browser more CPU per stroke (docs/reliability.md). So the panel keeps full
# opacity until its new content arrives.
st.html("<style>.stElementContainer[data-stale='true'] {opacity: 1 !important; transition: none !important}</style>")
st.title("Draw a digit")
st.caption("Draw a digit from 0 to 9 on the black square, with a mouse, a pen or a finger: the network guesses "
           "after every stroke. The canvas's toolbar, over its top-right corner, undoes a stroke or starts again "
           "(the bin). No pointer? Choose a test image or a saved drawing under **Draw without a pointer**.")


@st.fragment
def draw_and_predict(model, live_view_on, chosen=None):
    """The canvas and everything that depends on it: a stroke reruns only this panel, so it holds no widget
    but the canvas (the model picker and the teaching panel sit outside it, and rerun only when used).
    `chosen`: (x28, what it is) picked with the keyboard (ui/panels/draw/keyboard.py), read instead of the canvas."""
    canvas_col, guess_col, input_col = st.columns([3, 4, 2], gap="large")
    with canvas_col:
        drawing = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                            height=SIDE, width=SIDE, drawing_mode="freedraw", key="canvas",
                            update_streamlit=True, return_image_data=True)
    try:
        rgba = canvas_rgba(drawing.image_bytes, SIDE)                 # (280, 280, 4) uint8, or None
    except CanvasError as e:
        st.warning(f"**This drawing cannot be used:** {md_escape(e)}. Clear the canvas (the bin icon) and draw again.")
        rgba = None
    steps = canvas_to_mnist_steps(rgba)                               # all None for an empty canvas
    x28 = steps["centred"]                                            # (28, 28) in [0, 1], or None
    session.set_drawing(x28, rgba)                                    # for the Inside page and "Save drawing"
    problem = notdigit.ink_problem(x28, steps["cropped"], SIDE)       # a dot or a blot (never saved)
    if chosen is not None:                                            # a test image or a saved drawing instead
        x28, steps, problem = chosen[0], {"centred": chosen[0], "chosen": chosen[1]}, None

    with guess_col:
        if x28 is None:
            st.info("**Draw a digit** on the black canvas to see what the network thinks it is.",
                    icon=":material/gesture:")
        elif problem:
            st.warning(f"**That doesn't look like a digit.** {problem}", icon=":material/block:")
        elif model is not None:
            verdict, digit = uncertainty.guess(model, x28)            # a digit, not sure, or not a digit at all
            corrections.finetuned_guess(verdict, x28)                 # while a fine-tuned model waits

    with input_col:
        show_input(steps)
    if live_view_on:
        live_view.panel(model)                                        # the whole network, for this stroke
    if x28 is not None and model is not None and not problem:
        st.subheader("Why this guess?", divider="gray")
        corrections.explain(model, x28, digit)


def show_input(steps):
    """The 28x28 image the network receives, and the preprocessing steps that made it (one HTML element:
    this is redrawn after every stroke)."""
    st.markdown("**What the network sees**")
    if steps["centred"] is None:
        st.caption("The 28x28 input appears here once you draw.")
        return
    if "chosen" in steps:
        st.html(charts.figures_html([(charts.upscale(steps["centred"], 5), f"The 28x28 input: {steps['chosen']}",
                                      "input")]))
        return
    st.html(charts.figures_html([
        (charts.upscale(steps["centred"], 5), "The 28x28 input", "input"),
        (charts.steps_strip(steps), ("How it got there, as for MNIST: crop to the ink, scale the longer side to "
                                     "20 px, then centre by mass in 28x28."), "steps")]))


picker_col, view_col = st.columns([3, 6], vertical_alignment="bottom")
with picker_col:
    model = registry.model_picker("draw")
with view_col:
    live_view_on = live_view.switch()
with st.columns([3, 6])[0]:
    chosen = keyboard.choose()                                        # a digit without a pointer
st.space("small")                                                     # room for the canvas toolbar
canvas_frame.frame("canvas", SIDE)                                     # the whole canvas takes the first stroke
draw_and_predict(model, live_view_on, chosen)
with st.expander("Use a photo of a handwritten digit", icon=":material/photo_camera:"):
    photo.photo_panel(model, session.model_key())
if model is not None:
    corrections.teach_panel(model, session.model_key())
with st.expander("Use a model file", icon=":material/upload_file:"):
    corrections.upload_panel()
