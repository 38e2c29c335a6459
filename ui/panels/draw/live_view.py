"""Draw page: the whole network thinking, redrawn after every stroke. One picture from the input to the ten outputs
(ui/charts/network_view.py), a unit to follow back to the pixels it reads (cnn/teach/receptive.py) with a link to
the trace of its arithmetic on Inside the network, and a convolution's kernel sliding (ui/charts/kernel_player.py).

panel() is a fragment nested in the Draw page's canvas fragment: a stroke redraws it with the rest, and its own
controls rerun it alone. It builds only what is on screen: the picture, and the player only when asked for."""
import numpy as np
import streamlit as st

from cnn.engine.layers import Conv3x3, softmax
from cnn.teach.receptive import describe, field
from cnn.teach.trace import stages
from ui.charts import kernel_player, network_view
from ui.state import session

SHOW = "live_view"                     # the page's switch: the view on or off
PER_LAYER = "live_view_per_layer"      # one colour range per layer instead of each map's own
FOLLOW = "live_view_stage"             # the stage of the unit followed (0: none)
UNIT, ROW, COL = "live_view_unit", "live_view_row", "live_view_col"
PLAY = "live_view_play"                # the kernel player shown
PLAY_STAGE, PLAY_CHANNEL, PLAY_INPUT = "live_view_play_stage", "live_view_play_channel", "live_view_play_input"


def switch():
    """The page's on/off switch (outside the canvas fragment: turning it on reruns the page once)."""
    return st.toggle("Watch the whole network", key=SHOW,
                     help="Every layer's maps for your drawing, redrawn after every stroke.")


def _number(label, high, key, container):
    st.session_state[key] = int(min(max(st.session_state.get(key, 0), 0), high))    # a new layer may shrink it
    return int(container.number_input(f"{label} (0-{high})", 0, high, key=key))


def pick(found):
    """The unit followed: (stage index, unit, row, col), stage 0 for none."""
    options = list(range(len(found)))
    if st.session_state.get(FOLLOW) not in options:
        st.session_state[FOLLOW] = 0
    cols = st.columns([3, 2, 2, 2])
    s = cols[0].selectbox("Follow a unit in layer", options, key=FOLLOW,
                          format_func=lambda i: "none" if i == 0 else f"{i}. {found[i].label}")
    if s == 0:
        return 0, 0, 0, 0
    h, w, c = found[s].values.shape
    flat = found[s].kind in ("dense", "output")
    unit = _number("Unit" if flat else "Channel", c - 1, UNIT, cols[1])
    row = col = 0
    if not flat:
        row, col = _number("Row", h - 1, ROW, cols[2]), _number("Column", w - 1, COL, cols[3])
    return s, unit, row, col


@st.fragment
def panel(model):
    """The live view of `model` for the drawing on the canvas (session.drawing)."""
    x28, _ = session.drawing()
    if x28 is None or model is None:
        st.caption("The whole network appears here once you draw.")
        return
    found = stages(model, x28)                                          # every layer's output, by the engine
    probs = softmax(found[-1].values.reshape(1, -1))[0]                 # the engine's softmax, not calibrated
    picture = st.container()                                            # first on screen, drawn once picked
    controls = st.columns([4, 3])
    with controls[0]:
        s, unit, row, col = pick(found)
    per_layer = controls[1].toggle("One colour range per layer", key=PER_LAYER,
                                   help="Off: each map on its own range, so faint maps show. On: the maps of a "
                                        "layer can be compared.")
    boxes = field(found, s, unit, row, col) if s else None
    with picture:
        st.html(network_view.network_html(found, probs, not per_layer, boxes, s or None,
                                          key=f"{float(x28.sum()):.4f}"))
        st.markdown(_summary(found, probs))                            # the picture's text alternative
        if s:
            _followed(found, boxes, s, unit, row, col)
    if any(f.kind == "conv" for f in found) and st.toggle("Watch a kernel slide", key=PLAY):
        slide(found, s, unit)


def _summary(found, probs):
    best = int(np.argmax(probs))
    chain = " → ".join(f.label.split(":")[0] + (f" ({f.label.split(': ')[1]})" if f.kind != "output" else "")
                       for f in found)
    return (f"{chain}: it reads {best} with probability {probs[best]:.1%} (before calibration). "
            "Colour: dark purple is a map's lowest value, yellow its highest.")


def _followed(found, boxes, s, unit, row, col):
    value = float(found[s].values[row, col, unit])
    where = f"unit {unit}" if found[s].kind in ("dense", "output") else f"channel {unit}, row {row}, column {col}"
    st.markdown(f"**{found[s].label.split(':')[0]}, {where} = {value:.4f}.** It reads, outlined in red: "
                + "; ".join(describe(found, {k: b for k, b in boxes.items() if k != s})) + ".")
    if st.button("Trace its arithmetic on Inside the network", icon=":material/calculate:"):
        session.ask_trace(s, unit, row, col)
        st.switch_page("app_pages/inside.py")


def slide(found, followed, followed_unit):
    """The kernel player for one convolution and one of its filters."""
    convs = [i for i, f in enumerate(found) if f.kind == "conv"]
    if st.session_state.get(PLAY_STAGE) not in convs:
        st.session_state[PLAY_STAGE] = followed if followed in convs else convs[0]
        st.session_state[PLAY_CHANNEL] = followed_unit if followed in convs else 0
    cols = st.columns(3)
    s = cols[0].selectbox("Convolution", convs, key=PLAY_STAGE, format_func=lambda i: found[i].label)
    stage, source = found[s], found[found[s].source].values               # (H-2, W-2, C), (H, W, C_in)
    channel = _number("Filter", stage.values.shape[2] - 1, PLAY_CHANNEL, cols[1])
    k = _number("Input channel", source.shape[2] - 1, PLAY_INPUT, cols[2])
    x = source[None].astype(stage.layer.params["W"].dtype)
    z = Conv3x3.forward(stage.layer, x)[0][0, :, :, channel]               # the engine's pre-activation
    bias = float(stage.layer.params["b"][channel])
    st.html(kernel_player.player_html(stage.label, source[:, :, k], stage.layer.params["W"][:, :, k, channel], z,
                                      stage.values[:, :, channel], k, bias, stage.relu, source.shape[2],
                                      f"kernel-player-{s}-{channel}-{k}"), unsafe_allow_javascript=True)
    st.markdown(f"Play moves filter {channel}'s 3x3 window over {found[stage.source].label.split(':')[0]} row by row "
               "and fills the output map value by value; the slider (or the arrow keys on it) moves it by hand.")
