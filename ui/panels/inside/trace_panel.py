"""Inside the network, "Trace a number": pick any value of any layer (a click on its map, or the number
inputs) and see how the engine computed it, with the real numbers for the current image."""
import numpy as np
import streamlit as st

from cnn.teach.trace import trace
from ui.charts import teach as teach_charts
from ui.state import session

KEYS = {"stage": "trace_stage", "unit": "trace_unit", "row": "trace_row", "col": "trace_col"}
CHART = "trace_map"
TOP = 10            # a dense unit's largest contributions listed one by one
KIND_NAMES = {"conv": "convolution", "pool": "max pooling", "dense": "dense layer", "output": "output layer"}


def _flat(stage):
    """True for dense and output stages: their units are shown as one grid and picked by unit alone."""
    return stage.kind in ("dense", "output")


def _unit_grid(values):
    """A dense stage's (1, 1, n) values -> (rows, 16) grid for the map (NaN pads the last row)."""
    v = values.reshape(-1)
    width = min(len(v), 16)
    grid = np.full(-(-len(v) // width) * width, np.nan)
    grid[:len(v)] = v
    return grid.reshape(-1, width)


def _picked():
    """A click on the map -> the row and column inputs (or the unit, for a dense stage); runs before the script."""
    points = ((st.session_state.get(CHART) or {}).get("selection") or {}).get("points") or []
    for point in points:
        try:
            row, col = int(point["y"]), int(point["x"])
        except (KeyError, TypeError, ValueError):
            continue
        if st.session_state.get("trace_flat"):
            st.session_state[KEYS["unit"]] = row * 16 + col
        else:
            st.session_state[KEYS["row"]], st.session_state[KEYS["col"]] = row, col
        return


def _clamp(key, high, default):
    """Keep a number input's stored value inside its new range (a layer change can shrink it)."""
    value = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(value, 0), high))


def choose(found):
    """The layer, channel, row and column to trace -> (stage index, unit, row, col)."""
    options = list(range(1, len(found)))
    asked = session.take_trace()                                     # a unit followed on the Draw page
    if asked and asked[0] in options:
        st.session_state[KEYS["stage"]] = asked[0]
        st.session_state["trace_shown"] = (asked[0], found[asked[0]].label)
        for key, value in zip(("unit", "row", "col"), asked[1:], strict=True):
            st.session_state[KEYS[key]] = value
    if st.session_state.get(KEYS["stage"]) not in options:
        st.session_state[KEYS["stage"]] = options[0]
    s = st.selectbox("Layer", options, key=KEYS["stage"],
                     format_func=lambda i: f"{i}. {KIND_NAMES[found[i].kind]} {found[i].label}")
    stage = found[s]
    h, w, c = stage.values.shape
    flat = _flat(stage)
    st.session_state["trace_flat"] = flat
    best = np.unravel_index(int(np.argmax(stage.values)), stage.values.shape)    # the strongest value first
    if st.session_state.get("trace_shown") != (s, stage.label):                    # a new layer: start there
        st.session_state["trace_shown"] = (s, stage.label)
        for key, value in zip(("row", "col", "unit"), best, strict=True):
            st.session_state[KEYS[key]] = int(value)
    _clamp(KEYS["unit"], c - 1, best[2])
    _clamp(KEYS["row"], h - 1, best[0])
    _clamp(KEYS["col"], w - 1, best[1])
    inputs = st.columns(3)
    unit = inputs[0].number_input(f"{'Unit' if flat else 'Channel'} (0-{c - 1})", 0, c - 1, key=KEYS["unit"])
    row = col = 0
    if not flat:
        row = inputs[1].number_input(f"Row (0-{h - 1})", 0, h - 1, key=KEYS["row"])
        col = inputs[2].number_input(f"Column (0-{w - 1})", 0, w - 1, key=KEYS["col"])
    return s, int(unit), int(row), int(col)


def panel(found):
    """found: cnn.teach.trace.stages(model, image) for the image shown."""
    st.caption("Choose any number the network computed for this image: click a pixel of the map (or type its "
               "position) and see the arithmetic that produced it, with the engine's own numbers.")
    s, unit, row, col = choose(found)
    stage = found[s]
    t = trace(found, s, unit, row, col)
    map_col, how_col = st.columns([2, 3], gap="large")
    with map_col:
        if _flat(stage):
            z, selected = _unit_grid(stage.values), divmod(unit, 16)
            hover = "unit %{y}x16+%{x}: %{customdata:.4f}"
        else:
            z, selected, hover = stage.values[:, :, unit], (row, col), "row %{y}, column %{x}: %{customdata:.4f}"
        st.markdown(f"**{stage.label}**, {'units' if _flat(stage) else f'channel {unit}'}: click a value to trace it")
        st.plotly_chart(teach_charts.pick_map_figure(z, selected, hover=hover), key=CHART, on_select=_picked,
                        selection_mode="points", config={"displayModeBar": False})
    with how_col:
        {"conv": show_conv, "pool": show_pool, "dense": show_dense, "output": show_output}[t["kind"]](t, found, stage)


def _where(t):
    return f"channel {t['unit']}, row {t['row']}, column {t['col']}"


def show_conv(t, found, stage):
    c_in = t["patch"].shape[2]
    then = ", then ReLU." if t["relu"] else " (no activation)."
    st.markdown(f"**Convolution**, {_where(t)}: the 3x3x{c_in} input patch under the kernel, times filter "
                f"{t['unit']}'s weights, summed, plus its bias{then}")
    per_channel = t["products"].sum(axis=(0, 1))                       # (C_in,) each input channel's share
    shown = int(np.argmax(np.abs(per_channel)))
    if c_in > 1:
        options = [int(i) for i in np.argsort(-np.abs(per_channel), kind="stable")]
        if st.session_state.get("trace_in_channel") not in options:
            st.session_state["trace_in_channel"] = options[0]
        shown = st.selectbox(f"Input channel to show (of {c_in}; the largest share first)", options,
                             key="trace_in_channel")
    k = int(shown)
    st.plotly_chart(teach_charts.numbers_figure(
        [t["patch"][:, :, k], t["kernel"][:, :, k], t["products"][:, :, k]],
        [f"input patch (channel {k})", "kernel weights", "products"]), key="trace_numbers",
        config={"displayModeBar": False})
    if c_in > 1:
        st.caption(f"Channel {k}'s 9 products sum to {per_channel[k]:.4f}; all {9 * c_in} products over the "
                   f"{c_in} input channels sum to {t['sum']:.4f}.")
    _equation(t, rf"\sum_{{a,b,c}} x_{{{t['row']}+a,\,{t['col']}+b,\,c}}\, W_{{a,b,c,{t['unit']}}}")
    src = found[stage.source]
    st.plotly_chart(teach_charts.pick_map_figure(src.values[:, :, k], box=(t["row"], t["col"], 3, 3), height=200),
                    key="trace_source", config={"displayModeBar": False})
    st.caption(f"Where the patch lies in the layer's input ({src.label}, channel {k}).")


def _equation(t, sum_tex):
    relu = t["relu"]
    st.latex(rf"z = {sum_tex} + b")
    st.latex(rf"z = {t['sum']:.4f} + ({t['bias']:.4f}) = {t['pre_activation']:.4f}")
    st.latex(rf"\mathrm{{ReLU}}(z) = \max(z, 0) = {t['total']:.4f}" if relu else rf"y = z = {t['total']:.4f}")
    _holds(t)


def _holds(t):
    st.latex(rf"\text{{the map holds }}{t['value']:.4f}")


def show_pool(t, found, stage):
    r, c = t["winner"]
    src = found[stage.source]
    st.markdown(f"**Max pooling**, {_where(t)}: the largest of the 2x2 window at rows {t['origin'][0]}-"
                f"{t['origin'][0] + 1}, columns {t['origin'][1]}-{t['origin'][1] + 1} of `{src.label}`.")
    st.plotly_chart(teach_charts.numbers_figure([t["window"]], ["2x2 window (the winner outlined)"], highlight=(r, c)),
                    key="trace_numbers", config={"displayModeBar": False})
    values = ", ".join(f"{v:.4f}" for v in t["window"].ravel())
    st.latex(rf"\max({values}) = {t['total']:.4f}")
    _holds(t)
    if stage.layer is found[stage.source].layer:
        st.caption("This layer runs fused with the convolution before it (ConvPool): the engine takes the maximum "
                   "of the four convolutions before adding the bias and applying ReLU. Same number: the bias is the "
                   "same in the whole window, and ReLU never changes which value is largest.")
    st.plotly_chart(teach_charts.pick_map_figure(src.values[:, :, t["unit"]], box=(*t["origin"], 2, 2), height=200),
                    key="trace_source", config={"displayModeBar": False})
    st.caption(f"Where the window lies in the layer's input ({src.label}, channel {t['unit']}); only the winner "
               "receives a gradient in the backward pass.")


def contributions(t):
    """A dense unit's largest contributions: [(input index, (row, col, channel), input, weight, product)]."""
    order = np.argsort(-np.abs(t["products"]), kind="stable")[:TOP]
    shape = t["input_shape"]
    return [(int(i), tuple(int(v) for v in np.unravel_index(i, shape)), t["inputs"][i], t["weights"][i],
             t["products"][i]) for i in order]


def show_dense(t, found, stage):
    n = len(t["inputs"])
    src = found[stage.source]
    st.markdown(f"**Dense**, unit {t['unit']}: all {n:,} inputs (`{src.label}` flattened) times this unit's "
                f"weights, summed, plus its bias" + (", then ReLU." if t["relu"] else "."))
    rows = [{"input": i, "(row, col, channel)": str(pos), "input value": round(x, 4), "weight": round(w, 4),
             "product": round(p, 4)} for i, pos, x, w, p in contributions(t)]
    st.dataframe(rows, hide_index=True, width="stretch")
    rest = t["sum"] - sum(r[4] for r in contributions(t))
    st.caption(f"The {min(TOP, n)} largest products of {n:,}; the other {max(n - TOP, 0):,} add {rest:.4f}.")
    _equation(t, rf"\sum_{{i=0}}^{{{n - 1}}} x_i\, W_{{i,{t['unit']}}}")


def show_output(t, found, stage):
    show_dense(t, found, stage)
    p = t["probabilities"]
    st.markdown("**Softmax** turns the ten logits into probabilities: subtract the largest logit (for stability), "
                "exponentiate, divide by the sum.")
    st.latex(rf"p_{{{t['unit']}}} = \frac{{e^{{z_{{{t['unit']}}} - \max z}}}}{{\sum_k e^{{z_k - \max z}}}} = "
             rf"\frac{{{t['exp'][t['unit']]:.4g}}}{{{t['exp'].sum():.4g}}} = {p[t['unit']]:.4f}")
    left, right = st.columns(2)
    left.plotly_chart(teach_charts.bars_figure(range(10), t["logits"], t["unit"], "logits z", ".2f"),
                      key="trace_logits", config={"displayModeBar": False})
    right.plotly_chart(teach_charts.bars_figure(range(10), p, t["unit"], "softmax probabilities", ".3f"),
                       key="trace_probs", config={"displayModeBar": False})
