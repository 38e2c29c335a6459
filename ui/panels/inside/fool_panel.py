"""Inside the network, "Fool the network": a small change to the image, found with the engine's own
gradients, that makes the model answer a digit the user picks. Runs only when asked (a button)."""
import hashlib

import numpy as np
import streamlit as st

from cnn.teach.adversarial import MAX_STEPS, fool
from ui.charts import basic as charts
from ui.charts import evaluate as eval_charts
from ui.state import session

RESULT = "fool_result"


def _identity(model, image, target):
    data = np.asarray(image, np.float32).tobytes() + bytes([target]) + str(id(model)).encode()
    return hashlib.sha1(data).hexdigest()


def panel(model, image):
    st.caption("Change the image as little as possible so that the network answers another digit. Each step "
               "follows the engine's own gradient of the chosen digit's log-probability with respect to the "
               f"pixels (one backward pass), keeps the pixels between 0 and 1, and stops once that digit wins "
               f"(at most {MAX_STEPS} steps).")
    current = int(model.predict(image[None])[0])
    choices = [d for d in range(10) if d != current]
    pick, go = st.columns([2, 1], vertical_alignment="bottom")
    target = pick.selectbox("Make it answer", choices, key="fool_target")
    if go.button("Fool the network", key="fool_go", icon=":material/auto_fix_high:", width="stretch"):
        with st.spinner("Following the gradient…"):
            st.session_state[RESULT] = {"id": _identity(model, image, target), **fool(model, image, target)}
    result = st.session_state.get(RESULT)
    if result and result["id"] == _identity(model, image, target):
        show(result, current, target)


def show(result, current, target):
    after = int(np.argmax(result["after"]))
    if result["success"]:
        st.success(f"After {result['steps']} steps the network answers **{after}** "
                   f"({result['after'][after]:.0%}) instead of {current}. The prediction at the top of the page is "
                   "still the original image's: look inside the fooled one to see every layer change.")
        st.button("Look inside the fooled image", key="fool_inspect", icon=":material/layers:",
                  on_click=session.hand_to_inside, args=(result["image"], None, f"The image fooled into {after}"))
    else:
        st.warning(f"After {result['steps']} steps the network still answers {after}: the change it would need "
                   f"is larger than {MAX_STEPS} steps allow.")
    size, peak, pixels = st.columns(3)
    size.metric("Size of the change (L2)", f"{result['l2']:.2f}",
                help="The square root of the sum of the squared pixel changes (pixels from 0 to 1).")
    peak.metric("Largest pixel change (L∞)", f"{result['linf']:.2f}")
    pixels.metric("Pixels changed by more than 0.1", f"{int((np.abs(result['delta']) > 0.1).sum())} of 784")
    change, lim = eval_charts.attribution_image(result["delta"], scale=5)
    st.html(charts.figures_html([
        (charts.upscale(result["image"] - result["delta"], 5), f"Before: {current}", "before"),
        (change, f"The change (red: more ink, blue: less; ±{lim:.2f})", "change"),
        (charts.upscale(result["image"], 5), f"After: {after}", "after")]))
